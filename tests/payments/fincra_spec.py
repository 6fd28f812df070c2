"""FinCra's published OpenAPI files (tests/payments/fincra_openapi/, see its README) as schemas the
tests validate against: the contract module, the client's request bodies, the simulator's answers."""

import functools
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

FOLDER = Path(__file__).parent / "fincra_openapi"
CHECKOUT, DISBURSEMENTS, CORE, NOTIFICATIONS, WALLETS = (
    "checkout-core", "fincra-disbursements", "fincra-core", "fincra-notifications", "fincra-wallets")


@functools.cache
def spec(name: str) -> dict:
    return yaml.safe_load((FOLDER / f"{name}.yaml").read_text())


def schema(name: str, component: str) -> dict:
    return spec(name)["components"]["schemas"][component]


def errors(name: str, instance, component: str | None = None, *, ref: str | None = None) -> list[str]:
    """Every way ``instance`` breaks the spec's schema (a component name, or any JSON pointer ``ref``)."""
    document = spec(name)
    validator = Draft202012Validator({"$ref": ref or f"#/components/schemas/{component}",
                                      "components": document["components"], "paths": document["paths"],
                                      "webhooks": document.get("webhooks", {})})
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(instance)]


def response_ref(name: str, path: str, method: str, status: str) -> str:
    """A JSON pointer to the schema of one documented response (inline or a $ref'd response)."""
    response = spec(name)["paths"][path][method]["responses"][status]
    if "$ref" in response:
        return response["$ref"] + "/content/application~1json/schema"
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"#/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema"


def error_catalog(name: str, path: str, method: str) -> list[dict]:
    return spec(name)["paths"][path][method].get("x-fincra-error-catalog", [])


def server_prefix(name: str) -> str:
    """The gateway prefix of a service: the path of its first server URL (e.g. /checkout-core)."""
    from urllib.parse import urlsplit

    return urlsplit(spec(name)["servers"][0]["url"]).path.rstrip("/")


def unknown_keys(instance: dict, name: str, component: str) -> set[str]:
    """Keys of ``instance`` that the component's schema does not declare."""
    return set(instance) - set(schema(name, component).get("properties", {}))
