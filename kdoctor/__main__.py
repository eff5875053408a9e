from kdoctor.cli import main

main()
