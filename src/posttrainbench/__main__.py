from posttrainbench.cli import main

main()
