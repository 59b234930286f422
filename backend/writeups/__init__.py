"""Write-ups: a team's method name, link and PDF per phase."""
