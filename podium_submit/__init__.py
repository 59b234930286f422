"""``podium-submit``: a team's one command to submit an image to Podium.

Standard library only, so it installs anywhere ``docker`` runs
(``pip install podium`` without extras). It speaks HTTP to Podium's API and
drives the local ``docker`` command for pushing.
"""
