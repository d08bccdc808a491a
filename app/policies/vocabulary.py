"""Controlled vocabularies for policy items: kinds, themes, jurisdictions, actors, event types.

Kept small and closed so that filters, summaries and the chat group things consistently; each
entry's help text is what the README and the OpenAPI docs show.
"""

from enum import StrEnum


class ItemKind(StrEnum):
    POLICY = "policy"
    NAP_CLAUSE = "nap_clause"
    LEGISLATION = "legislation"
    REFORM = "reform"
    INSTITUTION = "institution"
    EDUCATION_NARRATIVE = "education_narrative"
    SECURITY_MEASURE = "security_measure"
    DIALOGUE = "dialogue"
    REPORT_SECTION = "report_section"
    RECOMMENDATION = "recommendation"


KIND_HELP: dict[ItemKind, str] = {
    ItemKind.POLICY: "A plan or policy framework: the NAP itself and its revisions, NISP, NSP.",
    ItemKind.NAP_CLAUSE: "One of the 20 points of the National Action Plan 2014.",
    ItemKind.LEGISLATION: "A law, ordinance, constitutional amendment or bill.",
    ItemKind.REFORM: "A constitutional or administrative reform, such as the FATA merger.",
    ItemKind.INSTITUTION: "A body the state created or tasked: NACTA, CTDs, the SSD, the CII.",
    ItemKind.EDUCATION_NARRATIVE: "Education, madrassa and counter-narrative measures.",
    ItemKind.SECURITY_MEASURE: "Kinetic and security measures: operations, border control, FATF.",
    ItemKind.DIALOGUE: "Dialogue, peace talks and reconciliation efforts.",
    ItemKind.REPORT_SECTION: "A section of a report that groups recommendations.",
    ItemKind.RECOMMENDATION: "A policy recommendation made in a report.",
}


class Theme(StrEnum):
    LEGAL_FRAMEWORK = "legal_framework"
    CRIMINAL_JUSTICE = "criminal_justice"
    TERROR_FINANCING = "terror_financing"
    PROSCRIBED_ORGANISATIONS = "proscribed_organisations"
    POLICING = "policing"
    INTELLIGENCE = "intelligence"
    COORDINATION = "coordination"
    MILITARY_OPERATIONS = "military_operations"
    MADRASSA_REFORM = "madrassa_reform"
    EDUCATION = "education"
    COUNTER_NARRATIVE = "counter_narrative"
    HATE_SPEECH = "hate_speech"
    MEDIA_AND_INTERNET = "media_and_internet"
    SECTARIANISM = "sectarianism"
    MINORITIES = "minorities"
    FATA_REFORMS = "fata_reforms"
    BALOCHISTAN = "balochistan"
    KARACHI = "karachi"
    PUNJAB = "punjab"
    AFGHANISTAN = "afghanistan"
    BORDER_MANAGEMENT = "border_management"
    REFUGEES = "refugees"
    DIALOGUE = "dialogue"
    DERADICALISATION = "deradicalisation"
    ELECTIONS = "elections"
    CPEC = "cpec"
    GOVERNANCE = "governance"
    HUMAN_RIGHTS = "human_rights"
    YOUTH = "youth"
    DEVELOPMENT = "development"


class Jurisdiction(StrEnum):
    FEDERAL = "federal"
    PUNJAB = "punjab"
    SINDH = "sindh"
    KHYBER_PAKHTUNKHWA = "khyber_pakhtunkhwa"
    BALOCHISTAN = "balochistan"
    GILGIT_BALTISTAN = "gilgit_baltistan"
    AZAD_JAMMU_AND_KASHMIR = "azad_jammu_and_kashmir"
    ISLAMABAD_CAPITAL_TERRITORY = "islamabad_capital_territory"


JURISDICTION_NAMES: dict[Jurisdiction, str] = {
    Jurisdiction.FEDERAL: "Federal",
    Jurisdiction.PUNJAB: "Punjab",
    Jurisdiction.SINDH: "Sindh",
    Jurisdiction.KHYBER_PAKHTUNKHWA: "Khyber Pakhtunkhwa",
    Jurisdiction.BALOCHISTAN: "Balochistan",
    Jurisdiction.GILGIT_BALTISTAN: "Gilgit-Baltistan",
    Jurisdiction.AZAD_JAMMU_AND_KASHMIR: "Azad Jammu and Kashmir",
    Jurisdiction.ISLAMABAD_CAPITAL_TERRITORY: "Islamabad Capital Territory",
}


class TargetActor(StrEnum):
    """Who a recommendation asks to act."""

    PARLIAMENT = "parliament"
    FEDERAL_GOVERNMENT = "federal_government"
    PROVINCES = "provinces"
    SECURITY_AGENCIES = "security_agencies"
    JUDICIARY = "judiciary"
    POLITICAL_PARTIES = "political_parties"
    RELIGIOUS_LEADERS = "religious_leaders"
    CIVIL_SOCIETY = "civil_society"
    MEDIA = "media"


class EventType(StrEnum):
    ANNOUNCED = "announced"
    APPROVED = "approved"
    ENACTED = "enacted"
    PROMULGATED = "promulgated"
    AMENDED = "amended"
    EXTENDED = "extended"
    LAPSED = "lapsed"
    REPEALED = "repealed"
    ESTABLISHED = "established"
    LAUNCHED = "launched"
    RULING = "ruling"
    MEETING = "meeting"
    TALKS = "talks"
    CEASEFIRE = "ceasefire"
    OPERATION = "operation"
    DESIGNATION = "designation"
    ATTACK = "attack"
    REVIEW = "review"
    STATUS_CHANGE = "status_change"
    OTHER = "other"
