"""`python -m portal.signing`: create (or show) the development signing key material."""

from portal.signing.pki import main

raise SystemExit(main())
