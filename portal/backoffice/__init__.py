"""Staff back office (issue #3): staff and roles, queues, case actions, official documents, audit."""
