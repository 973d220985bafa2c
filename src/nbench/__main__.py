"""``python -m nbench`` runs the command line."""

from nbench.cli import main

main()
