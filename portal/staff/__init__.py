"""The staff kernel: who a staff member is (models, repository), how they log in and what roles
admit them to a page (auth, service, web), and the staff pages' chrome (layout).

Every domain with staff pages (back office, payments, quality, notifications, assistant) builds on
this package; it imports no domain package itself (``tests/unit/test_import_graph.py``).
"""
