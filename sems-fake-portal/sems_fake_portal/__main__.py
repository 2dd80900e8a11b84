from sems_fake_portal.cli import main

main()
