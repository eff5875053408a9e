from kdoctor.entry import main

main()
