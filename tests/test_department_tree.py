"""Who oversees which unit follows the organisation at once: a new section, a section moved
to another department, a department moved to another body, however the change is made
(a form's save(), the admin's, a bulk import of units, a queryset update).

The city of conftest.py: 総務部 (head_somu) holds 情報政策課 (chief_joho) and 総務課;
教育部 (head_kyoiku) holds 学校教育課."""

from assets import access as asset_access
from audits import access as audit_access
from isms.models import Department, DepartmentAncestor, Role
from isms.roles import assign_role, departments_managed, departments_overseen

from .factories import DepartmentFactory, UserFactory


def codes(queryset):
    return set(queryset.values_list("code", flat=True))


def ancestors(unit):
    return {
        (link.ancestor.code, link.depth)
        for link in DepartmentAncestor.objects.filter(unit=unit).select_related("ancestor")
    }


def test_a_new_section_is_overseen_by_its_departments_head_as_soon_as_it_is_created(org, people):
    DepartmentFactory(code="bunsho", name="文書課", kind="section", parent=org["somu"])
    assert "bunsho" in codes(departments_overseen(people["head"]))
    assert "bunsho" in codes(departments_managed(people["head"]))
    assert "bunsho" not in codes(departments_overseen(people["other_head"]))


def test_a_section_moved_to_another_department_changes_hands_at_once(org, people):
    joho = org["joho"]
    joho.parent = org["kyoiku"]
    joho.save()
    assert "joho" not in codes(departments_overseen(people["head"]))
    assert "joho" in codes(departments_overseen(people["other_head"]))
    # Its chief keeps the section, and now answers for the new department's inspection.
    assert codes(departments_overseen(people["chief"])) == {"joho"}
    assert codes(audit_access.answering_departments(people["chief"])) == {"joho", "kyoiku"}
    assert ancestors(joho) == {("joho", 0), ("kyoiku", 1), ("board", 2)}


def test_the_assets_of_a_moved_section_follow_it_to_its_new_department(org, people, register):
    asset = register["joho_confidential"]
    assert asset_access.can_edit(people["head"], asset)
    joho = Department.objects.get(code="joho")
    joho.parent = org["kyoiku"]
    joho.save()
    assert not asset_access.can_edit(people["head"], asset)
    assert asset not in asset_access.visible_assets(people["head"])
    assert asset_access.can_edit(people["other_head"], asset)
    assert asset in asset_access.visible_assets(people["other_head"])


def test_a_department_moved_to_another_body_takes_its_sections_along(org, people):
    somu = Department.objects.get(code="somu")
    somu.parent = org["board"]
    somu.save()
    for code in ("joho", "somuka"):
        assert ancestors(Department.objects.get(code=code)) == {
            (code, 0),
            ("somu", 1),
            ("board", 2),
        }
    body_head = UserFactory(username="head_board")
    assign_role(body_head, Role.DEPARTMENT_HEAD, org["board"])
    assert {"somu", "joho", "somuka", "kyoiku", "gakko"} <= codes(departments_overseen(body_head))
    assert "mayor" not in codes(departments_overseen(body_head))


def test_units_created_in_bulk_and_moved_by_a_queryset_update_are_in_the_tree(org, people):
    Department.objects.bulk_create(
        [
            Department(code="zaimu", name="財政課", kind="section", parent=org["somu"]),
            Department(code="kouhou", name="広報課", kind="section", parent=org["kyoiku"]),
        ]
    )
    assert {"zaimu"} <= codes(departments_overseen(people["head"]))
    assert "kouhou" in codes(departments_overseen(people["other_head"]))
    Department.objects.filter(code__in=["zaimu", "somuka"]).update(parent=org["kyoiku"])
    overseen = codes(departments_overseen(people["other_head"]))
    assert {"zaimu", "somuka", "kouhou"} <= overseen
    assert codes(departments_overseen(people["head"])) == {"somu", "joho"}


def test_a_deleted_section_leaves_no_trace_in_the_tree(org, people):
    unit = DepartmentFactory(code="rinji", name="臨時課", kind="section", parent=org["somu"])
    unit.delete()
    assert not DepartmentAncestor.objects.filter(unit_id=unit.pk).exists()
    assert codes(departments_overseen(people["head"])) == {"somu", "joho", "somuka"}


def test_saving_other_fields_of_a_moved_unit_does_not_lose_the_move(org, people):
    joho = Department.objects.get(code="joho")
    joho.parent = org["kyoiku"]
    joho.name = "情報政策課(新)"
    joho.save(update_fields=["name"])  # the move itself is not saved yet
    assert "joho" in codes(departments_overseen(people["head"]))
    joho.save()
    assert "joho" in codes(departments_overseen(people["other_head"]))
    assert "joho" not in codes(departments_overseen(people["head"]))
