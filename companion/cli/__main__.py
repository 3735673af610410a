from companion.cli.commands import main

main()
