"""The automation tests use the e2e fixtures (a real server per backend) for their end-to-end scenarios."""
from tests.e2e.conftest import admin, deployment, e2e_deployments, http, http_client, ws_url  # noqa: F401
