"""The OpenAPI document as a contract (API.md Conventions), read from the running
server: short unique operation ids with summaries, typed list pages, every error
as application/problem+json with the Problem schema (never FastAPI's
HTTPValidationError), the bearer scheme declared, and /docs served without the
internet."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

PROBLEM_JSON = "application/problem+json"


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_operation_has_a_short_unique_operation_id_and_a_summary(api: Api) -> None:
    operations = _operations(api.ok(api.client.get("/openapi.json")))
    ids = [op["operationId"] for _, op in operations]
    assert len(ids) == len(set(ids)), sorted(ids)
    for label, op in operations:
        assert re.fullmatch(r"[a-z]+(_[a-z]+){0,4}", op["operationId"]), (label, op["operationId"])
        assert op.get("summary"), label
    assert {"create_user", "check_access", "list_users"} <= set(ids)


def test_every_error_an_operation_declares_is_a_problem_json(api: Api) -> None:
    document = api.ok(api.client.get("/openapi.json"))
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert {"type", "title", "status", "detail"} <= set(schemas["Problem"]["required"])
    assert {"module", "capacity", "in_use", "available"} <= set(
        schemas["SeatLimitProblem"]["properties"]
    )
    for label, op in _operations(document):
        errors = {status: r for status, r in op["responses"].items() if int(status) >= 400}
        assert "503" in errors, label
        for status, response in errors.items():
            assert list(response["content"]) == [PROBLEM_JSON], (label, status)
        if op.get("requestBody"):
            assert {"413", "415", "422"} <= set(errors), label
        if "{" in label:
            assert "404" in errors, label
    create_user = document["paths"]["/v1/accounts/{account_id}/users"]["post"]
    conflict = create_user["responses"]["409"]["content"][PROBLEM_JSON]["schema"]
    assert {"$ref": "#/components/schemas/SeatLimitProblem"} in conflict["anyOf"]


def test_lists_are_typed_pages_and_money_is_a_decimal_string(api: Api) -> None:
    document = api.ok(api.client.get("/openapi.json"))
    schemas = document["components"]["schemas"]
    listing = document["paths"]["/v1/accounts/{account_id}/users"]["get"]["responses"]["200"]
    ref = listing["content"]["application/json"]["schema"]["$ref"]
    page = schemas[ref.rsplit("/", 1)[1]]
    assert page["properties"]["data"]["items"] == {"$ref": "#/components/schemas/UserPublic"}
    assert "next_cursor" in page["properties"]
    user = schemas["UserPublic"]["properties"]
    assert user["status"]["enum"] == ["invited", "active", "inactive", "deleted"]
    assert set(user["role"]["enum"]) == {"owner", "admin", "member"}
    total = schemas["InvoicePublic"]["properties"]["total"]
    assert total["type"] == "string" and "pattern" in total


def test_the_bearer_scheme_is_declared_on_every_authenticated_operation(api: Api) -> None:
    document = api.ok(api.client.get("/openapi.json"))
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    for label, op in _operations(document):
        if "401" in op["responses"]:
            assert op.get("security") == [{"bearer": []}], label
    assert "security" not in document["paths"]["/v1/health"]["get"]


def test_docs_load_swagger_ui_from_the_server_itself(api: Api) -> None:
    page = api.anonymous.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert assets, page.text
    for asset in assets:
        assert asset.startswith("/"), f"/docs loads {asset} from elsewhere"
        answer = api.anonymous.get(asset)
        assert answer.status_code == 200 and answer.content, asset
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
