"""A real OpenLDAP server for the directory sign-in tests: Debian's slapd (bin/setup-system
installs it), run by python-ldap's slapdtest helper with a throwaway cn=config in a temporary
directory, on 127.0.0.1 and a free port, one per test process.

The city's test tree (DIRECTORY_TREE) holds one entry per persona the tests need, with
OpenLDAP's own attribute names, which the tests give the portal through the same LDAP_*
settings a city would set (directory_settings). Everyone's directory password is
DIRECTORY_PASSWORD, on purpose different from the portal's local one (tests/factories.py).
"""

import os
import shutil
import signal
import tempfile
from contextlib import contextmanager

import pytest

SUFFIX = "dc=city,dc=example"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SERVICE_DN = f"cn=isms-portal,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-account-pass-7"
DIRECTORY_PASSWORD = "directory-pass-2468"
AUDITORS = f"cn=isms-auditors,{GROUPS}"
CHIEFS = f"cn=isms-section-chiefs,{GROUPS}"

# An attribute of Active Directory's, so that the tree can hold an account disabled the way
# AD disables one. OID arc 1.3.6.1.4.1.4203.666 is OpenLDAP's for experiments.
ACCOUNT_CONTROL_SCHEMA = """dn: cn=accountcontrol,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: accountcontrol
olcAttributeTypes: ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcObjectClasses: ( 1.3.6.1.4.1.4203.666.11.1 NAME 'cityAccount' AUXILIARY
  MAY userAccountControl )
"""


def person(uid, *, name, number=None, section=None, mail=True, extra=()):
    lines = [
        f"dn: uid={uid},{PEOPLE}",
        "objectClass: inetOrgPerson",
        "objectClass: cityAccount",
        f"uid: {uid}",
        f"cn: {name}",
        f"sn: {name.split()[0]}",
        f"displayName: {name}",
        f"userPassword: {DIRECTORY_PASSWORD}",
    ]
    if mail:
        lines.append(f"mail: {uid}@city.example")
    if number:
        lines.append(f"employeeNumber: {number}")
    if section:
        lines.append(f"departmentNumber: {section}")
    lines.extend(extra)
    return "\n".join(lines)


def group(dn, *members):
    cn = dn.split(",")[0].split("=")[1]
    # groupOfNames needs a member even when nobody is in it: the service account stands in.
    lines = [f"dn: {dn}", "objectClass: groupOfNames", f"cn: {cn}", f"member: {SERVICE_DN}"]
    lines += [f"member: uid={uid},{PEOPLE}" for uid in members]
    return "\n".join(lines)


DIRECTORY_TREE = "\n\n".join(
    [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: city\no: City",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: isms-portal\nuserPassword: {SERVICE_PASSWORD}",
        # staff_joho of the portal, with their staff number and unit.
        person("staff_joho", name="情報 太郎", number="100234", section="joho"),
        # A login name the portal does not know, and a staff number the test gives a persona.
        person("somu.hanako", name="総務 花子", number="100777", section="somuka"),
        # No staff number: matched by login name.
        person("staff_kyoiku", name="教育 次郎", section="gakko", mail=False),
        # Unknown to the portal altogether.
        person("newcomer", name="新人 三郎", number="300001", section="joho"),
        # Disabled in the directory, the generic way (LDAP_DISABLED_FILTER) ...
        person("left.city", name="退職 四郎", number="100555", extra=["employeeType: disabled"]),
        # ... and the Active Directory way (userAccountControl 514 = 512 | ACCOUNTDISABLE).
        person("ad.disabled", name="停止 五郎", number="100556", extra=["userAccountControl: 514"]),
        person("ad.enabled", name="有効 六郎", number="100557", extra=["userAccountControl: 512"]),
        # In the groups mapped to roles.
        person("staff_somuka", name="総務 七子", number="100888", section="somuka"),
        group(AUDITORS, "staff_somuka"),
        group(CHIEFS, "staff_somuka"),
        group(f"cn=unmapped,{GROUPS}", "staff_joho"),
    ]
)


@pytest.fixture(scope="session")
def directory_server():
    """The running slapd (a slapdtest.SlapdObject) with the city's test tree."""
    if not (shutil.which("slapd", path="/usr/sbin:/usr/bin") and shutil.which("ldapadd")):
        pytest.skip("slapd and ldap-utils are not installed (bin/setup-system installs them)")
    import slapdtest

    rundir = tempfile.mkdtemp(prefix="isms-slapd-")
    schema = os.path.join(rundir, "accountcontrol.ldif")
    with open(schema, "w") as file:
        file.write(ACCOUNT_CONTROL_SCHEMA)

    class CityDirectory(slapdtest.SlapdObject):
        TMPDIR = rundir
        suffix = SUFFIX
        root_cn = "root"
        root_pw = "root-pass-for-tests"
        slapd_loglevel = "none"
        openldap_schema_files = (
            "core.ldif",
            "cosine.ldif",
            "inetorgperson.ldif",
            "nis.ldif",
            schema,
        )

    server = CityDirectory()
    server.start()
    try:
        server.ldapadd(DIRECTORY_TREE + "\n")
        yield server
    finally:
        server.stop()
        shutil.rmtree(rundir, ignore_errors=True)


def directory_settings(server, **overrides):
    """The LDAP_* settings for the test server (OpenLDAP's attribute names), bind as the
    person by default."""
    values = {
        "LDAP_SERVER_URI": server.ldap_uri,
        "LDAP_START_TLS": False,
        "LDAP_CA_FILE": "",
        "LDAP_TIMEOUT_SECONDS": 2,
        "LDAP_USER_DN_TEMPLATE": f"uid=%(user)s,{PEOPLE}",
        "LDAP_BIND_DN": "",
        "LDAP_BIND_PASSWORD": "",
        "LDAP_USER_SEARCH_BASE": PEOPLE,
        "LDAP_USER_SEARCH_FILTER": "(uid=%(user)s)",
        "LDAP_ATTR_USERNAME": "uid",
        "LDAP_ATTR_DISPLAY_NAME": "displayName",
        "LDAP_ATTR_EMAIL": "mail",
        "LDAP_ATTR_STAFF_NUMBER": "employeeNumber",
        "LDAP_ATTR_SECTION_CODE": "departmentNumber",
        "LDAP_ACCOUNT_CONTROL_ATTR": "userAccountControl",
        "LDAP_DISABLED_FILTER": "(employeeType=disabled)",
        "LDAP_GROUP_SEARCH_BASE": GROUPS,
        "LDAP_GROUP_SEARCH_FILTER": "(objectClass=groupOfNames)",
        "LDAP_GROUP_ROLES": {AUDITORS: "auditor", CHIEFS: "section_chief"},
    }
    values.update(overrides)
    return values


@pytest.fixture
def directory(settings, directory_server):
    """The portal signing in through the test directory, as LDAP_SERVER_URI would make it
    (isms/settings/base.py): the directory before the local passwords."""
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "isms.ldap_signin.DirectoryBackend",
        "django.contrib.auth.backends.ModelBackend",
        "guardian.backends.ObjectPermissionBackend",
    ]
    for name, value in directory_settings(directory_server).items():
        setattr(settings, name, value)
    return directory_server


@contextmanager
def stopped(server):
    """The directory server stopped (its process gone), started again afterwards."""
    server.terminate()
    server.wait()
    try:
        yield
    finally:
        server.resume()


@contextmanager
def hung(server):
    """The directory server frozen: it accepts connections but answers nothing."""
    os.kill(server._proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server._proc.pid, signal.SIGCONT)
