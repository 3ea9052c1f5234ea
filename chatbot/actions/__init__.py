"""Custom actions: every answer is read from the portal's JSON API at run time."""
