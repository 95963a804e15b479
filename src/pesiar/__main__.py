from pesiar.cli import main

main()
