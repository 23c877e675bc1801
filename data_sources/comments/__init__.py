"""Citizens' comments: submitting and reading them, evidence, officials' workflow, ledger, analysis, API keys."""
