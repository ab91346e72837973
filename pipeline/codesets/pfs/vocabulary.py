"""The fee schedule's vocabulary: status codes and what each means for payment.

From the PPRRVU record layout's Attachment A. The reader validates against it; the
payment table, the impact rules, the audit and the reports explain with it.
"""

from __future__ import annotations

#: Status code -> its meaning, quoted in short from the layout's Attachment A.
STATUS_CODES: dict[str, str] = {
    "A": "Active code: paid separately under the physician fee schedule, if covered",
    "B": "Bundled code: payment always bundled into payment for other services",
    "C": "Contractors price the code",
    "D": "Deleted code, effective with the beginning of the year",
    "E": "Excluded from the physician fee schedule by regulation",
    "F": "Deleted/discontinued code, not subject to a 90 day grace period",
    "G": "Not valid for Medicare purposes; Medicare uses another code "
    "(subject to a 90 day grace period)",
    "H": "Deleted modifier: the code's TC or 26 component was deleted",
    "I": "Not valid for Medicare purposes; Medicare uses another code "
    "(not subject to a 90 day grace period)",
    "J": "Anesthesia services: no RVUs and no payment amounts",
    "M": "Measurement code, used for reporting purposes only",
    "N": "Non-covered service: not covered by Medicare",
    "P": "Bundled/excluded code: no RVUs and no payment amounts",
    "R": "Restricted coverage: special coverage instructions apply; if covered, contractor priced",
    "T": "Injections: paid only if no other physician fee schedule service is billed "
    "the same date by the same provider",
    "X": "Statutory exclusion: not in the statutory definition of physician services",
}

#: Statuses under which Medicare pays the code under the fee schedule.
PAYABLE = frozenset({"A", "R", "T"})
#: Statuses under which Medicare pays nothing for the code itself (bundled, excluded, not
#: valid for Medicare, reporting only, bundled/excluded, non-covered, statute).
NOT_PAID = frozenset("BEGIMNPX")
#: Statuses of deleted codes (D, F) and deleted modifiers (H).
DELETED = frozenset("DFH")
