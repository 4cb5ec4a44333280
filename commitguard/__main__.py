from commitguard.cli.app import main

main()
