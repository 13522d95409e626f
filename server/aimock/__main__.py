from aimock.cli import main

raise SystemExit(main())
