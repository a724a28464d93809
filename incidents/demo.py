"""Demo incidents, added by `manage.py seed_demo` through isms.signals.demo_seeded: the
contact tree, a drill, and three incidents at different stages — a lost USB stick with
personal data (its PPC report due), a mail sent to the wrong address (reviewed, with a
lesson on the policy review backlog) and a false alarm."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from . import services
from .models import Category, Contact, Incident, Severity, Status


def seed_demo_incidents(sender, departments, users, **kwargs):
    if Incident.objects.exists():
        return
    csirt, admin, ciso = users.get("csirt", users["admin"]), users["admin"], users["ciso"]
    for order, (duty, person, deputy, phone) in enumerate(
        [
            ("CSIRT責任者（統括情報セキュリティ責任者）", admin, csirt, "内線 2100"),
            ("CSIRT窓口", csirt, admin, "内線 2101"),
            ("最高情報セキュリティ責任者（CISO）", ciso, admin, "内線 1001"),
        ],
        start=1,
    ):
        Contact.objects.create(order=order, duty=duty, person=person, deputy=deputy, phone=phone)
    today = timezone.localdate()
    services.record_drill(
        by=admin,
        held_on=today - datetime.timedelta(days=30),
        scenario="標的型メールによるマルウェア感染を想定した初動対応訓練",
        participants="CSIRT、情報政策課、総務部各課の情報セキュリティ管理者（12名）",
        lessons="夜間の連絡先一覧が古かった。連絡体制を更新する。",
    )
    now = timezone.now()
    staff = users["staff.joho"]
    usb = services.report(
        staff,
        title="住民情報を含むUSBメモリを紛失",
        description="出張先から戻る途中、暗号化されていないUSBメモリを紛失した。"
        "住民約120名の氏名・住所を含む。",
        occurred_at=now - datetime.timedelta(hours=20),
        department=departments["mayor-somu-joho"],
        location="市営バス車内",
        personal_data=True,
        files=[SimpleUploadedFile("memo.txt", "紛失届の控え".encode(), "text/plain")],
    )
    services.triage(
        usb,
        by=csirt,
        category=Category.objects.get(code="mistake"),
        severity=Severity.HIGH,
        owner=csirt,
        affected_people=120,
    )
    mail = services.report(
        users["staff.kyoiku"],
        title="保護者宛てメールの誤送信",
        description="学校行事の案内を別の保護者グループに送信した。",
        occurred_at=now - datetime.timedelta(days=10),
        department=departments["kyoiku-kyoiku-gakko"],
        personal_data=True,
    )
    services.triage(
        mail,
        by=csirt,
        category=Category.objects.get(code="mistake"),
        severity=Severity.MEDIUM,
        owner=csirt,
        affected_people=35,
    )
    for stage in (Status.CONTAINED, Status.ERADICATED, Status.RECOVERED):
        services.move(mail, stage, by=csirt)
    services.record_review(
        mail,
        by=csirt,
        causes="宛先グループの選択を確認する手順がなかった。",
        what_worked="送信者がすぐに報告し、受信者に削除を依頼できた。",
        changes=[("外部宛てメールの送信前確認（宛先の再確認）を対策基準に定める。", True)],
    )
    alarm = services.report(
        staff,
        title="不審なポップアップが表示された",
        occurred_at=now - datetime.timedelta(days=3),
        department=departments["mayor-somu-joho"],
    )
    services.move(alarm, Status.DISMISSED, by=csirt, note="ブラウザの正規の更新通知だった。")
