"""UI building blocks shared by pages: components, figures, key figures, indicators, comment and officials' views."""
