"""HTTP plumbing shared by every route: authentication, errors, body limits, OpenAPI, health."""
