"""A real S3-compatible server for the S3 storage tests: moto's server, in a process of its own on
a free loopback port (its memory is not ours, so the tests can measure ours).

It checks every request's AWS Signature V4 against the keys it issued (IAM authentication on
after the first `_SETUP_ACTIONS` requests, which create a user with its access key, and a role
to assume for temporary credentials with a session token).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from bench.ports import free_port

REGION = "eu-central-1"
ACCOUNT = "123456789012"
#: a server must answer within this time
STARTUP_SECONDS = 30
_ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:*", "sts:AssumeRole"], "Resource": "*"}]})
_ANYONE_MAY_ASSUME = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
#: create_user, create_access_key, put_user_policy, create_role, put_role_policy
_SETUP_ACTIONS = 5


@dataclass
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    process: subprocess.Popen
    _client: Any = None

    def client(self):
        """A plain boto3 client with the issued keys: how the tests look into the bucket, apart from
        our code. Made once (a client reads no environment after it is made: tests may change it)."""
        if self._client is None:
            self._client = boto3.session.Session().client(
                "s3", region_name=REGION, endpoint_url=self.endpoint, aws_access_key_id=self.access_key_id,
                aws_secret_access_key=self.secret_access_key)
        return self._client

    def new_bucket(self) -> str:
        name = f"uploads-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def temporary_credentials(self) -> dict[str, str]:
        """Keys with a session token, from assuming the role (as an instance or task role gives them)."""
        sts = boto3.session.Session().client("sts", region_name=REGION, endpoint_url=self.endpoint,
                                             aws_access_key_id=self.access_key_id,
                                             aws_secret_access_key=self.secret_access_key)
        issued = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/uploader",
                                 RoleSessionName="openchannels-tests")["Credentials"]
        return {"AWS_ACCESS_KEY_ID": issued["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": issued["SecretAccessKey"],
                "AWS_SESSION_TOKEN": issued["SessionToken"]}

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()



def start_s3_server() -> S3Server:
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(_SETUP_ACTIONS), "MOTO_ACCOUNT_ID": ACCOUNT}
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()  # listening: it is up
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto's server did not start on {endpoint}") from None
            time.sleep(0.1)
    iam = boto3.session.Session().client("iam", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="setup",
                       aws_secret_access_key="setup")
    iam.create_user(UserName="openchannels")
    key = iam.create_access_key(UserName="openchannels")["AccessKey"]
    iam.put_user_policy(UserName="openchannels", PolicyName="uploads", PolicyDocument=_ALLOW_ALL)
    iam.create_role(RoleName="uploader", AssumeRolePolicyDocument=_ANYONE_MAY_ASSUME)
    iam.put_role_policy(RoleName="uploader", PolicyName="uploads", PolicyDocument=_ALLOW_ALL)
    server = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], process)
    server.client()
    return server
