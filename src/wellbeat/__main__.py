from wellbeat.cli import main

main()
