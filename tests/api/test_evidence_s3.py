"""Evidence on S3-compatible storage (AWS S3, Supabase Storage's S3 endpoint, MinIO): the settings
read from the environment, and a case's file stored in and served from a bucket of an S3 server
on 127.0.0.1 (moto's server, over real HTTP), never through a public URL."""

import json
import socket
import subprocess
import sys

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from tests.api.test_disputes import PDF, case, ok  # noqa: F401 - the fixture
from tests.test_settings import PRODUCTION, clean_environment

BUCKET = "amani-evidence"
S3_ENV = {"STORAGE_S3_BUCKET": BUCKET, "STORAGE_S3_ENDPOINT_URL": "https://project.supabase.co/storage/v1/s3",
          "STORAGE_S3_REGION": "eu-west-2", "STORAGE_S3_ACCESS_KEY_ID": "key-id",
          "STORAGE_S3_SECRET_ACCESS_KEY": "secret", "STORAGE_S3_PREFIX": "evidence"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3(settings):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client.create_bucket(Bucket=BUCKET)
    options = {"bucket_name": BUCKET, "endpoint_url": endpoint, "region_name": "us-east-1", "access_key": "test",
               "secret_key": "test", "location": "evidence", "default_acl": None, "querystring_auth": True,
               "file_overwrite": False}
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": options}}
    yield client
    server.stop()


def test_the_s3_settings_come_from_the_environment_and_keep_objects_private():
    code = ("import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.STORAGES['default']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=django_settings.BASE_DIR, capture_output=True,
                            text=True, timeout=120, env={**clean_environment(), **PRODUCTION, **S3_ENV,
                                                         "DJANGO_SETTINGS_MODULE": "amani.settings"})
    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout.strip().splitlines()[-1])
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"], options["location"]) == (
        BUCKET, S3_ENV["STORAGE_S3_ENDPOINT_URL"], "eu-west-2", "evidence")
    assert options["default_acl"] is None and options["querystring_auth"] is True


def test_a_cases_file_goes_to_the_bucket_and_comes_back_only_through_the_api(case, s3):  # noqa: F811
    dispute, buyer, seller = case
    upload = SimpleUploadedFile("statement.pdf", PDF)
    created = ok(buyer.post(f"/api/v1/disputes/{dispute.pk}/evidence/", {"file": upload}, format="multipart"), 201)
    [stored] = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert stored["Key"].startswith(f"evidence/dispute-evidence/{dispute.pk}/") and stored["Key"].endswith(".pdf")
    assert s3.get_object(Bucket=BUCKET, Key=stored["Key"])["Body"].read() == PDF
    grants = s3.get_object_acl(Bucket=BUCKET, Key=stored["Key"])["Grants"]
    assert not [g for g in grants if "AllUsers" in str(g.get("Grantee", {}))]  # never public-read
    download = seller.get(created["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert "amazonaws" not in created["download_url"] and "127.0.0.1" not in created["download_url"]
