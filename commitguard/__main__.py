from commitguard.cli import main

main()
