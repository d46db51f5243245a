"""`python -m jump_platform.bench`: see the package's docstring."""

from jump_platform.bench import main

main()
