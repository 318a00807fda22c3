# SPDX-License-Identifier: LGPL-2.1-or-later
"""The documented interface is the served one: every interface in dbus/*.xml is compared with what
berthd's Introspect returns on /org/freedesktop/machine1 (methods with their arguments' names,
types and directions, properties with their types, access and change annotation, signals)."""

import glob
import json
import os
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO
from daemon import busctl

PATH = "/org/freedesktop/machine1"
XML_FILES = sorted(glob.glob(os.path.join(REPO, "dbus", "*.xml")))


def describe(iface):
    """An interface as a set of comparable facts."""
    out = set()
    for m in iface.findall("method"):
        args = tuple((a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg"))
        out.add(("method", m.get("name"), args))
    for s in iface.findall("signal"):
        out.add(("signal", s.get("name"), tuple((a.get("name"), a.get("type")) for a in s.findall("arg"))))
    for p in iface.findall("property"):
        ann = {a.get("name"): a.get("value") for a in p.findall("annotation")}
        out.add(("property", p.get("name"), p.get("type"), p.get("access"),
                 ann.get("org.freedesktop.DBus.Property.EmitsChangedSignal", "true")))
    return out


def served(bus):
    r = busctl(bus, "call", "org.freedesktop.machine1", PATH, "org.freedesktop.DBus.Introspectable", "Introspect")
    return ET.fromstring(json.loads(r.stdout)["data"][0])


def test_documented_interfaces_exist():
    assert XML_FILES, "no interface XML under dbus/"


@pytest.mark.parametrize("xml", XML_FILES, ids=os.path.basename)
def test_introspection_matches_documented_xml(bus, berthd, xml):
    live = {i.get("name"): i for i in served(bus).findall("interface")}
    documented = ET.parse(xml).getroot().findall("interface")
    assert documented, f"{xml} documents no interface"
    for iface in documented:
        name = iface.get("name")
        assert name in live, f"berthd does not serve {name} on {PATH}"
        want, got = describe(iface), describe(live[name])
        assert got - want == set(), f"{name}: served but not documented in {os.path.basename(xml)}: {sorted(got - want)}"
        assert want - got == set(), f"{name}: documented in {os.path.basename(xml)} but not served: {sorted(want - got)}"
