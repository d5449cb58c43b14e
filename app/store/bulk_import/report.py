"""What an import answers: its counts, the lines it rejected and why, and, when the database failed
part-way, the line after which nothing was stored (where the client resumes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field, ValidationError

# Enough to fix a file by; a stream of millions of bad lines must not make an answer of millions.
MAX_REPORTED_ERRORS = 1000


class LineError(BaseModel):
    line: int
    error: str


class ImportReport(BaseModel):
    lines: int = 0
    applied: int = 0
    stale: int = 0
    # Records an erasure kept from bringing a person back: orders stored without personal data,
    # customers and cases not applied.
    erased: int = 0
    rejected: int = 0
    errors: list[LineError] = Field(default_factory=list)
    errors_truncated: bool = False
    # Set when the database failed part-way: everything up to `committed_through_line` is stored
    # (and counted above); send the stream again from the line after it.
    failed: str | None = None
    committed_through_line: int | None = None


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        field = ".".join(str(p) for p in err["loc"]) or "line"
        parts.append(f"{field}: {err['msg']}")
    return "; ".join(parts)


@dataclass(slots=True)
class Tally:
    """Counted per line, so a plain object: a pydantic model's validated setattr costs more than
    the rest of a line's bookkeeping."""

    lines: int = 0
    applied: int = 0
    stale: int = 0
    erased: int = 0
    rejected: int = 0
    errors: list[LineError] = field(default_factory=list)
    errors_truncated: bool = False
    committed_through_line: int = 0

    def reject(self, line_no: int, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(LineError(line=line_no, error=message))
        else:
            self.errors_truncated = True

    def report(self) -> ImportReport:
        return ImportReport(
            lines=self.lines,
            applied=self.applied,
            stale=self.stale,
            erased=self.erased,
            rejected=self.rejected,
            errors=self.errors,
            errors_truncated=self.errors_truncated,
        )

    def failure_report(self, cause: BaseException) -> ImportReport:
        """The report of an import the database stopped with `cause`."""
        # Batches commit in order, so everything through the last committed batch's last line is
        # stored and nothing after it: the client resumes from the line after that.
        failed = self.report()
        failed.failed = (
            f"the database failed during the import ({type(cause).__name__}); "
            f"nothing after line {self.committed_through_line} was stored"
        )
        failed.committed_through_line = self.committed_through_line
        return failed
