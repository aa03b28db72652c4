"""A research team's journey through jiebang from Python, with stubs generated from proto/.

Signs in, finds an open challenge, uploads its technical plan, drafts and submits an
application with the responsibility pledge (军令状), and watches its own events. Prints one JSON
object per step, so a caller (the end-to-end test, or a person) can follow and check it.

    python -m grpc_tools.protoc -I proto --python_out=gen --grpc_python_out=gen proto/jiebang/v1/*.proto
    JIEBANG_PY_GEN=gen python clients/python/team_journey.py \
        --server 127.0.0.1:50051 --username li.lead --password-stdin < password.txt
"""

import argparse
import hashlib
import json
import os
import sys
import time

import grpc

sys.path.insert(0, os.environ.get("JIEBANG_PY_GEN", "gen"))

from google.protobuf import timestamp_pb2  # noqa: E402
from jiebang.v1 import application_pb2 as app_pb  # noqa: E402
from jiebang.v1 import application_pb2_grpc as app_grpc  # noqa: E402
from jiebang.v1 import challenge_pb2 as ch_pb  # noqa: E402
from jiebang.v1 import challenge_pb2_grpc as ch_grpc  # noqa: E402
from jiebang.v1 import common_pb2  # noqa: E402
from jiebang.v1 import events_pb2 as ev_pb  # noqa: E402
from jiebang.v1 import events_pb2_grpc as ev_grpc  # noqa: E402
from jiebang.v1 import identity_pb2 as id_pb  # noqa: E402
from jiebang.v1 import identity_pb2_grpc as id_grpc  # noqa: E402

PLEDGE = "本团队承诺按期完成全部考核指标，如未达到，愿承担相应责任。"
CHUNK = 256 * 1024


def step(name, **fields):
    print(json.dumps({"step": name, **fields}, ensure_ascii=False), flush=True)


def upload(documents, metadata, path):
    """Streams the file: the metadata first, then chunks; the server checks size and SHA-256."""
    with open(path, "rb") as f:
        content = f.read()
    meta = app_pb.DocumentUploadMetadata(
        file_name=os.path.basename(path),
        media_type="application/pdf",
        declared_size_bytes=len(content),
        declared_sha256=hashlib.sha256(content).hexdigest(),
        purpose=app_pb.DOCUMENT_PURPOSE_TECHNICAL_PLAN,
    )

    def requests():
        yield app_pb.UploadDocumentRequest(metadata=meta, request_id=f"py-upload-{meta.declared_sha256[:16]}")
        for i in range(0, len(content), CHUNK):
            yield app_pb.UploadDocumentRequest(chunk=content[i : i + CHUNK])

    return documents.UploadDocument(requests(), metadata=metadata).document


def application(me, document):
    return app_pb.Application(
        title="高强度瓷绝缘子配方与梯度烧成工艺（Python 客户端）",
        team=app_pb.Team(
            lead_person=me.user.name,
            members=[
                app_pb.TeamMember(
                    user=me.user.name,
                    display_name=me.user.display_name or "李工",
                    organization=me.user.organization,
                    role=app_pb.TEAM_ROLE_LEAD,
                    duty="总体技术负责",
                )
            ],
        ),
        technical_plan="采用高铝瓷配方，梯度烧成控制晶相，在线监测窑温。",
        requested_budget_fen=350_000_000,
        signing_share_basis_points=5_000,
        proposed_milestones=[
            app_pb.ProposedMilestone(
                title="中期：样品试制与型式试验",
                deliverables=["样品 20 只"],
                due_after_months=12,
                indicator_targets=[app_pb.IndicatorTarget(indicator="机电破坏负荷", target_value="500")],
                share_basis_points=3_000,
                mid_term=True,
            ),
            app_pb.ProposedMilestone(
                title="结题：小批量试产",
                deliverables=["第三方检测报告"],
                due_after_months=24,
                indicator_targets=[app_pb.IndicatorTarget(indicator="机电破坏负荷", target_value="560")],
                share_basis_points=2_000,
            ),
        ],
        contacts=[common_pb2.Contact(person="李工", phone="13800000000")],
        documents=[document],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="127.0.0.1:50051", help="host:port of jiebang-server")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password-stdin", action="store_true", required=True)
    parser.add_argument("--plan", required=True, help="the technical plan, a PDF file")
    parser.add_argument("--events-timeout", type=float, default=20.0)
    args = parser.parse_args()
    password = sys.stdin.readline().rstrip("\n")

    channel = grpc.insecure_channel(args.server)
    token = id_grpc.IdentityServiceStub(channel).Login(
        id_pb.LoginRequest(username=args.username, password=password)
    ).access_token
    auth = [("authorization", f"Bearer {token}")]
    me = id_grpc.IdentityServiceStub(channel).WhoAmI(id_pb.WhoAmIRequest(), metadata=auth)
    step("login", user=me.user.name, organization=me.user.organization)

    open_ones = ch_grpc.ChallengeServiceStub(channel).ListChallenges(
        ch_pb.ListChallengesRequest(page_size=50, state=ch_pb.CHALLENGE_STATE_PUBLISHED), metadata=auth
    ).challenges
    if not open_ones:
        sys.exit("no open challenge to apply to")
    challenge = open_ones[0]
    step("challenges", open=[c.name for c in open_ones], chosen=challenge.name, title=challenge.title)

    applications = app_grpc.ApplicationServiceStub(channel)
    document = upload(applications, auth, args.plan)
    step("upload", document=document.name, size=document.size_bytes)

    draft = applications.CreateApplication(
        app_pb.CreateApplicationRequest(parent=challenge.name, application=application(me, document.name)),
        metadata=auth,
    ).application
    step("draft", application=draft.name, state=app_pb.ApplicationState.Name(draft.state))

    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    submitted = applications.SubmitApplication(
        app_pb.SubmitApplicationRequest(
            name=draft.name,
            pledge=app_pb.ResponsibilityPledge(signer=me.user.name, sign_time=now, text=PLEDGE),
        ),
        metadata=auth,
    ).application
    step("submit", application=submitted.name, state=app_pb.ApplicationState.Name(submitted.state))

    # A status error is part of the contract too: the second submission is refused precisely.
    try:
        applications.SubmitApplication(
            app_pb.SubmitApplicationRequest(
                name=draft.name,
                pledge=app_pb.ResponsibilityPledge(signer=me.user.name, sign_time=now, text=PLEDGE),
            ),
            metadata=auth,
        )
        sys.exit("a second submission was accepted")
    except grpc.RpcError as e:
        step("resubmit_refused", code=e.code().name)

    # The team's own events, from the start of the stream, until its submission shows up.
    stream = ev_grpc.EventServiceStub(channel).WatchEvents(
        ev_pb.WatchEventsRequest(after_sequence=0, resource_prefix=draft.name),
        metadata=auth,
        timeout=args.events_timeout,
    )
    seen = []
    deadline = time.monotonic() + args.events_timeout
    for response in stream:
        event = response.event
        seen.append(ev_pb.EventType.Name(event.type))
        if event.type == ev_pb.EVENT_TYPE_APPLICATION_SUBMITTED or time.monotonic() > deadline:
            break
    stream.cancel()
    step("events", types=seen)


if __name__ == "__main__":
    main()
