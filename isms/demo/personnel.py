"""The demo's April: a reorganisation and a personnel transfer waiting for 1 April, as a
city's personnel system would export them, for a visitor to preview (People and
organisation). Nothing of them is applied until that day."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile

from ..models import PersonnelBatch, Posting, User
from ..personnel import services

# 国保年金課 is merged into 福祉保健課; a new DX推進課 opens under 総務部.
ORGANISATION_CSV = """組織コード,組織名,種別,上位組織コード,終了日,統合先コード
mayor-somu-dx,DX推進課,課,mayor-somu,,
mayor-fukushi-kokuho,国保年金課,課,mayor-fukushi,{last_day},mayor-fukushi-fukushi
"""

# staff.joho moves to the new section; staff.kyoiku to 市民課; a new head of 市民部 joins;
# a fiscal-year part-timer's appointment ends on 31 March.
STAFF_CSV = """職員番号,姓,名,セイ,メイ,メールアドレス,所属コード,役職,任用区分,開始日,終了日,ログインID
100003,鶴崎,三郎,ツルサキ,サブロウ,staff.joho@city.example.jp,mayor-somu-dx,主事,正規,,,staff.joho
100007,明野,四郎,アケノ,シロウ,staff.kyoiku@city.example.jp,mayor-shimin-shimin,主任,正規,,,staff.kyoiku
100021,賀来,誠,カク,マコト,kaku.makoto@city.example.jp,mayor-shimin,部長,正規,{first_day},,head.shimin
200415,坂ノ市,由美,サカノイチ,ユミ,sakanoichi@city.example.jp,mayor-shimin-zei,主事,会計年度任用,,{last_day},staff-mayor-shimin-zei-1
"""  # noqa: E501 - the personnel system's header, one line


def next_april(today):
    year = today.year if today < datetime.date(today.year, 4, 1) else today.year + 1
    return datetime.date(year, 4, 1)


def open_missing_postings(today):
    """People the demo created in bulk hold their section since today."""
    holders = Posting.objects.filter(valid_until__isnull=True).values("user_id")
    Posting.objects.bulk_create(
        Posting(user_id=user.pk, unit_id=user.section_id, valid_from=user.joined_on or today)
        for user in User.objects.filter(section__isnull=False)
        .exclude(pk__in=holders)
        .only("pk", "section_id", "joined_on")
    )


def seed_april_batches(admin, today):
    """Upload, check and schedule the two files once (a second seed_demo adds nothing)."""
    open_missing_postings(today)
    if PersonnelBatch.objects.exists():
        return
    april = next_april(today)
    values = {
        "first_day": april.isoformat(),
        "last_day": (april - datetime.timedelta(days=1)).isoformat(),
    }
    for kind, text, name in (
        ("organisation", ORGANISATION_CSV, "機構改革.csv"),
        ("staff", STAFF_CSV, "定期人事異動.csv"),
    ):
        uploaded = SimpleUploadedFile(name, text.format(**values).encode("utf-8-sig"))
        batch = services.upload_batch(uploaded, kind, by=admin, effective_on=april)
        services.check_batch(batch.pk)
        batch.refresh_from_db()
        if batch.status == "ready":
            services.schedule_batch(batch.pk, april, by=admin)
