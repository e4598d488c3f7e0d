from publisher.cli import main

main(prog_name="publisher")
