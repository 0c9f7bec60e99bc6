"""`python -m analyzer`: the same program as `handshake-analyzer`."""

from .cli import main

main()
