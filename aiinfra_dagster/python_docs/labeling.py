"""Labeling functions written for the Python library reference chapters (the Python docs pack).

Their knowledge comes from hand-written tables (topic keywords, module -> chapter), as
someone who knows the standard library would write them; they never read the reference
labels or ``library/index``, and never look at a chunk's ``path``. Used only when a
``python_docs`` source is configured and ``labels.builtin_functions`` is on.

Longer than 350 lines: about 680 of them are the two hand-written tables (topic keywords,
module -> chapter) the functions read; the functions themselves are short.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from aiinfra_dagster.labels.functions import (
    ABSTAIN,
    ChunkView,
    LabelingFunction,
    compile_keywords,
    labeling_function,
    slug,
    topic_lf,
)

TEXT = "Text Processing Services"
BINARY = "Binary Data Services"
DATATYPES = "Data Types"
NUMERIC = "Numeric and Mathematical Modules"
FUNCTIONAL = "Functional Programming Modules"
FILESYS = "File and Directory Access"
PERSISTENCE = "Data Persistence"
ARCHIVING = "Data Compression and Archiving"
FILEFORMATS = "File Formats"
CRYPTO = "Cryptographic Services"
ALLOS = "Generic Operating System Services"
CONCURRENCY = "Concurrent Execution"
IPC = "Networking and Interprocess Communication"
NETDATA = "Internet Data Handling"
MARKUP = "Structured Markup Processing Tools"
INTERNET = "Internet Protocols and Support"
MULTIMEDIA = "Multimedia Services"
I18N = "Internationalization"
FRAMEWORKS = "Program Frameworks"
TK = "Graphical User Interfaces with Tk"
DEVELOPMENT = "Development Tools"
DEBUG = "Debugging and Profiling"
DISTRIBUTION = "Software Packaging and Distribution"
RUNTIME = "Python Runtime Services"
CUSTOMINTERP = "Custom Python Interpreters"
IMPORTING = "Importing Modules"
LANGUAGE = "Python Language Services"
WINDOWS = "MS Windows Specific Services"
UNIX = "Unix Specific Services"
SUPERSEDED = "Superseded Modules"


# ----------------------------------------------------------------------------- hand-written tables

# Topic vocabulary per chapter, as someone who knows the standard library would write it:
# module names and jargon specific to the topic.  Qualified names ("os.getpid") are left
# to the module LFs, so the two kinds of LF do not count the same evidence twice.  Generic words that every chapter uses
# ("message", "parser", "window", "server", "file name") were left out after they proved
# to vote for the wrong chapter more often than the right one.
CHAPTER_KEYWORDS: dict[str, tuple[str, ...]] = {
    TEXT: (
        r"regular expressions?",
        r"\bregex\w*",
        r"\bre\.(?:compile|match|search|sub|findall|fullmatch|split)\b",
        r"pattern objects?",
        r"match objects?",
        r"unicode (?:character )?database",
        r"\btextwrap\b",
        r"\bdifflib\b",
        r"string formatting",
        r"format specifications?",
        r"template strings?",
        r"\bstringprep\b",
        r"\bSequenceMatcher\b",
        r"normali[sz]ation forms?",
        r"\bunicodedata\b",
        r"\brlcompleter\b",
        r"\bformat_spec\b",
        r"\bgroupdict\b",
        r"\bbackreferences?\b",
    ),
    BINARY: (
        r"\bstruct\b",
        r"byte order",
        r"\bendian(?:ness)?\b",
        r"packed binary",
        r"\bcodecs?\b",
        r"format characters",
        r"incremental (?:en|de)coders?",
        r"\bStreamReader\b",
        r"\bcodec registry\b",
        r"\bstruct\.(?:pack|unpack|calcsize)\b",
    ),
    DATATYPES: (
        r"\bdatetime\b",
        r"\btimedelta\b",
        r"\btzinfo\b",
        r"time ?zones?",
        r"\bcalendar\b",
        r"\bdeque\b",
        r"\bnamedtuple\b",
        r"\bOrderedDict\b",
        r"\bdefaultdict\b",
        r"\bChainMap\b",
        r"\bheapq\b",
        r"\bheap\b",
        r"\bbisect\w*",
        r"\bweakref\w*",
        r"weak references?",
        r"\bIntFlag\b",
        r"\bEnum\b",
        r"\benum members?",
        r"(?:shallow|deep) cop(?:y|ies)",
        r"\bpprint\b",
        r"topological(?:ly)? sort\w*",
        r"\bgraphlib\b",
        r"\bzoneinfo\b",
        r"\breprlib\b",
    ),
    NUMERIC: (
        r"\bcmath\b",
        r"floating[- ]point",
        r"\bDecimal\b",
        r"\bFraction\b",
        r"random (?:numbers?|integers?)",
        r"\bstatistics\b",
        r"complex numbers?",
        r"\bsqrt\b",
        r"logarithms?",
        r"trigonometric",
        r"\b(?:median|variance|standard deviation)\b",
        r"pseudo-?random",
        r"\bgaussian\b",
        r"\bquantize\b",
        r"\bsignificant digits\b",
        r"\bNaN\b",
    ),
    FUNCTIONAL: (
        r"\bitertools\b",
        r"\bfunctools\b",
        r"\bpartial objects?",
        r"\breduce\(",
        r"\blru_cache\b",
        r"higher-order",
        r"\baccumulate\(",
        r"\bpermutations\(",
        r"\bcombinations\(",
        r"\bsingledispatch\w*",
        r"\bgroupby\(",
        r"\bislice\(",
        r"iterator building blocks",
        r"\bitemgetter\b",
        r"\battrgetter\b",
        r"\bcached_property\b",
    ),
    FILESYS: (
        r"\bpathlib\b",
        r"\bos\.path\b",
        r"\bglob\b",
        r"\bfnmatch\b",
        r"\bshutil\b",
        r"temporary (?:files?|director(?:y|ies))",
        r"\btempfile\b",
        r"\bsymlinks?\b",
        r"symbolic links?",
        r"\bPurePath\b",
        r"\bPosixPath\b",
        r"\bfilecmp\b",
        r"\blinecache\b",
        r"\bfileinput\b",
        r"\bst_mode\b",
        r"\bcopytree\b",
        r"\brmtree\b",
        r"directory trees?",
    ),
    PERSISTENCE: (
        r"\bpickl\w*",
        r"\bunpickl\w*",
        r"\bmarshal\b",
        r"\bshelve\w*",
        r"\bdbm\b",
        r"\bsqlite3?\b",
        r"\bSQL\b",
        r"\bcopyreg\b",
        r"\b__reduce(?:_ex)?__\b",
        r"\bPickler\b",
        r"\bexecutemany\b",
        r"\bfetchone\b",
        r"\bfetchall\b",
        r"\bisolation_level\b",
    ),
    ARCHIVING: (
        r"\bcompress\w*",
        r"\bdecompress\w*",
        r"\bzip ?files?\b",
        r"\bzipfile\b",
        r"\bgzip\b",
        r"\bbz2\b",
        r"\blzma\b",
        r"\btar ?(?:files?|archives?)\b",
        r"\btarfile\b",
        r"\bzlib\b",
        r"\bcrc32\b",
        r"compression levels?",
        r"\bZipInfo\b",
        r"\bTarInfo\b",
    ),
    FILEFORMATS: (
        r"\bcsv\b",
        r"configuration files?",
        r"\bconfigparser\b",
        r"\bINI\b",
        r"\btoml\w*",
        r"\bnetrc\b",
        r"\bplist\w*",
        r"\bdialects?\b",
        r"property lists?",
        r"\bdelimiter\b",
        r"\bDictReader\b",
        r"\bDictWriter\b",
        r"\bquotechar\b",
    ),
    CRYPTO: (
        r"\bhashlib\b",
        r"\bhash algorithms?",
        r"\bdigests?\b",
        r"\bsha\d+\b",
        r"\bmd5\b",
        r"\bhmac\b",
        r"\bsecrets\b",
        r"cryptographic\w*",
        r"\bblake2\w*",
        r"\bsalt\b",
        r"secure (?:random|tokens?)",
        r"\bhexdigest\b",
        r"\btoken_(?:bytes|hex|urlsafe)\b",
    ),
    ALLOS: (
        r"operating system",
        r"environment variables?",
        r"file descriptors?",
        r"process ids?",
        r"\blogging\b",
        r"\bloggers?\b",
        r"log (?:records?|messages?|levels?)",
        r"\bargparse\b",
        r"command[- ]line (?:arguments?|options?)",
        r"\bcurses\b",
        r"\berrno\b",
        r"\bctypes\b",
        r"shared librar\w*",
        r"\bbinary (?:mode|files?)\b",
        r"\btext (?:mode|files?)\b",
        r"\bBufferedReader\b",
        r"\bTextIOWrapper\b",
        r"\bsubparsers?\b",
        r"\bgetpass\b",
        r"\badd_argument\b",
        r"\bgetopt\b",
        r"\bLogRecord\b",
    ),
    CONCURRENCY: (
        r"\bthreads?\b",
        r"\bthreading\b",
        r"\bmultiprocessing\b",
        r"\bsubprocess(?:es)?\b",
        r"process pools?",
        r"\bProcessPoolExecutor\b",
        r"\bThreadPoolExecutor\b",
        r"\bconcurrent\.futures\b",
        r"context variables?",
        r"\bcontextvars?\b",
        r"\bsched\b",
        r"\bGIL\b",
        r"\bsemaphores?\b",
        r"\bbarriers?\b",
        r"\bchild process(?:es)?\b",
        r"\bPopen\b",
        r"\bRLock\b",
        r"\bqueue\.Queue\b",
        r"\bdaemon threads?\b",
    ),
    IPC: (
        r"\bsockets?\b",
        r"\bTCP\b",
        r"\bUDP\b",
        r"\bSSL\b",
        r"\bTLS\b",
        r"\bcertificates?\b",
        r"\bepoll\b",
        r"\bkqueue\b",
        r"\bselectors?\b",
        r"\bsignal handlers?\b",
        r"\bSIG[A-Z]+\b",
        r"\bmmap\b",
        r"event loops?",
        r"\basyncio\b",
        r"\bcoroutines?\b",
        r"\bawait\b",
        r"\btransports?\b",
        r"\basync\b",
        r"\bhandshake\b",
        r"\bIPv[46]\b",
        r"\bAF_INET6?\b",
        r"\bSSLContext\b",
        r"\bStreamWriter\b",
    ),
    NETDATA: (
        r"\be-?mail messages?",
        r"\bMIME\b",
        r"\bjson\b",
        r"\bmailbox\w*",
        r"\bmimetypes?\b",
        r"\bbase64\b",
        r"\bbinascii\b",
        r"quoted-printable",
        r"\buuencod\w*",
        r"\bpayloads?\b",
        r"\bcharset\b",
        r"\bMaildir\b",
        r"\bmbox\b",
        r"\bJSONDecoder\b",
        r"\bJSONEncoder\b",
        r"\bmultipart\b",
        r"\bEmailMessage\b",
    ),
    MARKUP: (
        r"\bxml\b",
        r"\bHTML\b",
        r"\bElementTree\b",
        r"\bDOM\b",
        r"\bSAX\b",
        r"\bexpat\b",
        r"\bXML (?:documents?|elements?|parsers?)",
        r"\bXPath\b",
        r"\bminidom\b",
        r"\bpulldom\b",
        r"\bHTMLParser\b",
        r"\bcharacter references?\b",
        r"\bContentHandler\b",
        r"\bsubelements?\b",
    ),
    INTERNET: (
        r"\bHTTP\b",
        r"\bURLs?\b",
        r"\burllib\w*",
        r"\bFTP\b",
        r"\bPOP3\b",
        r"\bIMAP4?\b",
        r"\bSMTP\b",
        r"web ?browsers?",
        r"\bWSGI\b",
        r"\bcookies?\b",
        r"\bxmlrpc\b",
        r"\bXML-RPC\b",
        r"IP addresses?",
        r"\bUUIDs?\b",
        r"\bsocketserver\b",
        r"\burlopen\b",
        r"\bquery strings?\b",
        r"\bHTTPResponse\b",
        r"\bstatus codes?\b",
    ),
    MULTIMEDIA: (
        r"\bWAV\b",
        r"\bwave\b",
        r"\bcolorsys\b",
        r"\bRGB\b",
        r"\bHSV\b",
        r"\bYIQ\b",
        r"\bHLS\b",
        r"sample (?:rate|width)",
        r"\bnchannels\b",
        r"\bsampwidth\b",
        r"\bframerate\b",
        r"\bcolou?r (?:space|systems?|coordinates)",
    ),
    I18N: (
        r"\bgettext\b",
        r"\blocales?\b",
        r"message catalogs?",
        r"\bi18n\b",
        r"\bl10n\b",
        r"\bngettext\b",
        r"internationali[sz]\w*",
        r"locali[sz]ation\w*",
        r"\bLC_\w+",
        r"\.mo files?",
        r"\btranslations?\b",
    ),
    FRAMEWORKS: (
        r"\bturtles?\b",
        r"command interpreters?",
        r"\bcmd\.Cmd\b",
        r"\bshlex\b",
        r"lexical analy\w*",
        r"\bpen(?:up|down)\b",
        r"shell-like",
        r"\bdo_\w+",
        r"\bcmdloop\b",
        r"\bTurtleScreen\b",
    ),
    TK: (
        r"\btkinter\b",
        r"\bTk\b",
        r"\bTcl\b",
        r"\bwidgets?\b",
        r"\bttk\b",
        r"\bIDLE\b",
        r"\bGUI\b",
        r"geometry managers?",
        r"\bToplevel\b",
        r"\bmainloop\b",
        r"\bCanvas\b",
        r"\bButton\b",
        r"\bTix\b",
        r"\bmessagebox\b",
        r"\bcolorchooser\b",
    ),
    DEVELOPMENT: (
        r"\btyping\b",
        r"type hints?",
        r"type checkers?",
        r"\bpydoc\b",
        r"\bdoctests?\b",
        r"\bunittest\b",
        r"test cases?",
        r"\bmock\w*",
        r"\bassert[A-Z]\w+",
        r"\b2to3\b",
        r"\bfixers?\b",
        r"development mode",
        r"regression tests?",
        r"\bTypeVar\b",
        r"\btest suites?\b",
        r"\bTestCase\b",
        r"\bMagicMock\b",
        r"\bGeneric\[",
        r"\btype aliases?",
    ),
    DEBUG: (
        r"\bdebugg(?:er|ing)\b",
        r"\bpdb\b",
        r"\bbreakpoints?\b",
        r"\bprofil(?:er|ers|ing)\b",
        r"\bcProfile\b",
        r"\btimeit\b",
        r"\btracemalloc\b",
        r"\bfaulthandler\b",
        r"audit events?",
        r"\bbdb\b",
        r"memory (?:allocations?|blocks?)",
        r"\bpstats\b",
        r"\bexecution time\b",
        r"\bline coverage\b",
        r"\bsys\.settrace\b",
    ),
    DISTRIBUTION: (
        r"\bdistutils\b",
        r"setup\.py",
        r"\bensurepip\b",
        r"\bpip\b",
        r"virtual environments?",
        r"\bvenv\b",
        r"\bzipapp\b",
        r"package index",
        r"\bsetuptools\b",
        r"\bpyvenv\.cfg\b",
        r"\bsdist\b",
        r"\bbdist\w*",
        r"\binterpreter\s+argument\b",
    ),
    RUNTIME: (
        r"\bsysconfig\b",
        r"\bbuiltins\b",
        r"\b__main__\b",
        r"warning filters?",
        r"\bdataclass(?:es)?\b",
        r"context managers?",
        r"\bcontextlib\b",
        r"abstract base class\w*",
        r"\batexit\b",
        r"\b__future__\b",
        r"garbage collect\w*",
        r"site-packages",
        r"\bABCMeta\b",
        r"\bexitstack\b",
        r"\bsignature objects?",
    ),
    CUSTOMINTERP: (
        r"interactive (?:interpreter|console)",
        r"read-eval-print",
        r"\bcodeop\b",
        r"\bInteractiveConsole\b",
        r"\bInteractiveInterpreter\b",
        r"\bcompile_command\b",
        r"incomplete (?:input|statements?)",
    ),
    IMPORTING: (
        r"\bimportlib\w*",
        r"\bfinders?\b",
        r"\bloaders?\b",
        r"module spec\w*",
        r"\bzipimport\w*",
        r"\bpkgutil\b",
        r"\brunpy\b",
        r"meta path",
        r"\bimport system\b",
        r"\bmodulefinder\b",
        r"\bnamespace packages?\b",
        r"\bentry points?\b",
        r"\bModuleSpec\b",
        r"\bpackage metadata\b",
        r"\bimport hooks?\b",
    ),
    LANGUAGE: (
        r"\bast\b",
        r"abstract syntax trees?",
        r"\btokeni[sz]\w*",
        r"symbol tables?",
        r"\bsymtable\b",
        r"\bbytecode\w*",
        r"\bdis\b",
        r"\bcompileall\b",
        r"\bpy_compile\b",
        r"\bpyclbr\b",
        r"\btabnanny\b",
        r"parse trees?",
        r"\bopcodes?\b",
        r"\bpickletools\b",
        r"\bNodeVisitor\b",
        r"\bNodeTransformer\b",
        r"\btoken\.\w+",
    ),
    WINDOWS: (
        r"\bregistry\b",
        r"\bwinreg\b",
        r"\bmsvcrt\b",
        r"\bwinsound\b",
        r"\bHKEY_\w+",
        r"\bWin32\b",
        r"\bWindows (?:registry|console|API)\b",
        r"\bMessageBeep\b",
        r"\bPlaySound\b",
    ),
    UNIX: (
        r"\bposix\b",
        r"password database",
        r"\bpwd\b",
        r"\bgrp\b",
        r"group database",
        r"\btermios\b",
        r"\btty\b",
        r"\bpty\b",
        r"pseudo-?terminals?",
        r"\bfcntl\b",
        r"resource (?:limits?|usage)",
        r"\bsyslog\b",
        r"\bioctl\b",
        r"\bflock\b",
        r"\brlimit\w*",
        r"\bRLIMIT_\w+",
        r"\bgetpwnam\b",
        r"\bgetgrnam\b",
    ),
    SUPERSEDED: (
        r"deprecated-removed",
        r"removed in (?:Python )?3\.1[2-3]",
        r"\bPEP 594\b",
        r"\boptparse\b",
        r"\bimp\b",
        r"\basyncore\b",
        r"\basynchat\b",
        r"\bcgi\b",
        r"\bcgitb\b",
        r"\btelnetlib\b",
        r"\bnntplib\b",
        r"\bsmtpd\b",
        r"\buu\b",
        r"\bxdrlib\b",
        r"\baifc\b",
        r"\bsunau\b",
        r"\baudioop\b",
        r"\bcrypt\b",
        r"\bspwd\b",
        r"\bnis\b",
        r"\bimghdr\b",
        r"\bsndhdr\b",
        r"\bmailcap\b",
        r"\bmsilib\b",
        r"\bossaudiodev\b",
        r"\bpipes\b",
        r"\bsuperseded\b",
    ),
}

# Where a module's documentation lives, written from knowledge of the standard library (the
# same expert knowledge the chapter index encodes, but typed here, not read from the docs).
# Only applied to modules *mentioned in the text* (roles, imports, qualified names), never
# to the page's own name; lookups fall back to the parent package ("xml.dom.minidom" -> "xml").
CHAPTER_MODULES: dict[str, tuple[str, ...]] = {
    TEXT: ("string", "re", "difflib", "textwrap", "unicodedata", "stringprep", "readline", "rlcompleter"),
    BINARY: ("struct", "codecs"),
    DATATYPES: (
        "datetime",
        "zoneinfo",
        "calendar",
        "collections",
        "heapq",
        "bisect",
        "array",
        "weakref",
        "types",
        "copy",
        "pprint",
        "reprlib",
        "enum",
        "graphlib",
    ),
    NUMERIC: ("numbers", "math", "cmath", "decimal", "fractions", "random", "statistics"),
    FUNCTIONAL: ("itertools", "functools", "operator"),
    FILESYS: (
        "pathlib",
        "os.path",
        "fileinput",
        "stat",
        "filecmp",
        "tempfile",
        "glob",
        "fnmatch",
        "linecache",
        "shutil",
    ),
    PERSISTENCE: ("pickle", "copyreg", "shelve", "marshal", "dbm", "sqlite3"),
    ARCHIVING: ("zlib", "gzip", "bz2", "lzma", "zipfile", "tarfile"),
    FILEFORMATS: ("csv", "configparser", "tomllib", "netrc", "plistlib"),
    CRYPTO: ("hashlib", "hmac", "secrets"),
    ALLOS: ("os", "io", "time", "argparse", "getopt", "logging", "getpass", "curses", "platform", "errno", "ctypes"),
    CONCURRENCY: (
        "threading",
        "multiprocessing",
        "concurrent",
        "subprocess",
        "sched",
        "queue",
        "contextvars",
        "_thread",
    ),
    IPC: ("asyncio", "socket", "ssl", "select", "selectors", "signal", "mmap"),
    NETDATA: ("email", "json", "mailbox", "mimetypes", "base64", "binascii", "quopri"),
    MARKUP: ("html", "xml", "pyexpat"),
    INTERNET: (
        "webbrowser",
        "wsgiref",
        "urllib",
        "http",
        "ftplib",
        "poplib",
        "imaplib",
        "smtplib",
        "uuid",
        "socketserver",
        "xmlrpc",
        "ipaddress",
    ),
    MULTIMEDIA: ("wave", "colorsys"),
    I18N: ("gettext", "locale"),
    FRAMEWORKS: ("turtle", "cmd", "shlex"),
    TK: ("tkinter", "idlelib"),
    DEVELOPMENT: ("typing", "pydoc", "doctest", "unittest", "lib2to3", "test"),
    DEBUG: ("bdb", "faulthandler", "pdb", "profile", "cProfile", "pstats", "timeit", "trace", "tracemalloc"),
    DISTRIBUTION: ("distutils", "ensurepip", "venv", "zipapp"),
    RUNTIME: (
        "sys",
        "sysconfig",
        "builtins",
        "__main__",
        "warnings",
        "dataclasses",
        "contextlib",
        "abc",
        "atexit",
        "traceback",
        "__future__",
        "gc",
        "inspect",
        "site",
    ),
    CUSTOMINTERP: ("code", "codeop"),
    IMPORTING: ("zipimport", "pkgutil", "modulefinder", "runpy", "importlib"),
    LANGUAGE: (
        "ast",
        "symtable",
        "token",
        "keyword",
        "tokenize",
        "tabnanny",
        "pyclbr",
        "py_compile",
        "compileall",
        "dis",
        "pickletools",
    ),
    WINDOWS: ("msvcrt", "winreg", "winsound"),
    UNIX: ("posix", "pwd", "grp", "termios", "tty", "pty", "fcntl", "resource", "syslog"),
    SUPERSEDED: (
        "aifc",
        "asynchat",
        "asyncore",
        "audioop",
        "cgi",
        "cgitb",
        "chunk",
        "crypt",
        "imghdr",
        "imp",
        "mailcap",
        "msilib",
        "nis",
        "nntplib",
        "optparse",
        "ossaudiodev",
        "pipes",
        "smtpd",
        "sndhdr",
        "spwd",
        "sunau",
        "telnetlib",
        "uu",
        "xdrlib",
    ),
}

MODULE_CHAPTER: dict[str, str] = {m: chapter for chapter, mods in CHAPTER_MODULES.items() for m in mods}

_ROLE_MOD_RE = re.compile(r":mod:`~?!?(?:[^`<]*<)?([A-Za-z_][\w.]*)>?`")
_ROLE_OBJ_RE = re.compile(r":(?:func|class|meth|exc|data|attr|const|obj):`~?!?(?:[^`<]*<)?([A-Za-z_][\w.]*)>?`")
_IMPORT_RE = re.compile(
    r"^\s*(?:>>>\s*|\.\.\.\s*)?(?:from\s+([A-Za-z_][\w.]*)\s+import\b|import\s+([A-Za-z_][\w.]*))", re.MULTILINE
)
_MODULE_DIRECTIVE_RE = re.compile(r"^\s*\.\.\s+(?:current)?module::\s*([A-Za-z_][\w.]*)", re.MULTILINE)


def module_chapter(name: str) -> str | None:
    """The chapter of a (possibly dotted) module or object name, trying the longest known prefix."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        chapter = MODULE_CHAPTER.get(".".join(parts[:n]))
        if chapter is not None:
            return chapter
    return None


def plurality(labels: Iterable[str | None], allowed: frozenset[str]) -> str | None:
    """The most frequent allowed label; abstain on ties so a mixed chunk is not forced."""
    counts = Counter(label for label in labels if label is not None and label in allowed)
    if not counts:
        return ABSTAIN
    (best, n), *rest = counts.most_common(2)
    if rest and rest[0][1] == n:
        return ABSTAIN
    return best


# ----------------------------------------------------------------------------- factories


def _headingtopic_lf(allowed: frozenset[str]) -> LabelingFunction:
    """Headings are short and deliberate, so the chapter whose vocabulary dominates the heading is a strong hint."""
    patterns = {label: compile_keywords(kws) for label, kws in CHAPTER_KEYWORDS.items() if label in allowed}

    def heading_topic(chunk: ChunkView) -> str | None:
        counts = {label: len(p.findall(chunk.section)) for label, p in patterns.items()}
        best = max(counts.values(), default=0)
        winners = [label for label, n in counts.items() if n == best]
        return winners[0] if best > 0 and len(winners) == 1 else ABSTAIN

    params = {"classes": sorted(patterns), "keywords": {k: list(CHAPTER_KEYWORDS[k]) for k in sorted(patterns)}}
    return labeling_function("heading_topic", heading_topic, params, depends=(compile_keywords,))


def _module_lf(
    name: str, extract: Callable[[ChunkView], list[str]], pattern: re.Pattern[str], allowed: frozenset[str]
) -> LabelingFunction:
    def module_vote(chunk: ChunkView) -> str | None:
        return plurality((module_chapter(m) for m in extract(chunk)), allowed)

    params = {
        "pattern": pattern.pattern,  # the regex ``extract`` applies, so editing it changes the version
        "modules": {k: list(v) for k, v in CHAPTER_MODULES.items()},
        "classes": sorted(allowed),
    }
    return labeling_function(name, module_vote, params, depends=(extract, module_chapter, plurality))


def _mod_roles(chunk: ChunkView) -> list[str]:
    return _ROLE_MOD_RE.findall(chunk.text)


def _object_roles(chunk: ChunkView) -> list[str]:
    return [t for t in _ROLE_OBJ_RE.findall(chunk.text) if "." in t]


def _imports(chunk: ChunkView) -> list[str]:
    return [a or b for a, b in _IMPORT_RE.findall(chunk.text)]


def _module_directives(chunk: ChunkView) -> list[str]:
    return _MODULE_DIRECTIVE_RE.findall(chunk.text)


def _fixed_lf(name: str, label: str, pattern: str) -> LabelingFunction:
    regex = re.compile(pattern, re.IGNORECASE | re.MULTILINE)

    def fixed(chunk: ChunkView) -> str | None:
        return label if regex.search(chunk.text) else ABSTAIN

    return labeling_function(name, fixed, {"label": label, "pattern": pattern})


# Precise, low-coverage cues tied to reST conventions of the Python docs.
_FIXED_RULES: tuple[tuple[str, str, str], ...] = (
    ("deprecation_removal", SUPERSEDED, r"deprecated-removed::\s*3\.\d+\s+3\.1[23]|\bPEP\s*594\b|:pep:`594`"),
    ("async_code", IPC, r"\basync\s+def\b|\bawait\s+\w|\basyncio\.run\("),
    ("tk_widget_code", TK, r"\b(?:tk|ttk|tkinter)\.[A-Z]\w+\(|\.(?:pack|grid|mainloop)\("),
    ("sql_statement", PERSISTENCE, r"\b(?:SELECT\s+.+\s+FROM|CREATE\s+TABLE|INSERT\s+INTO)\b"),
    ("email_headers", NETDATA, r"^\s*(?:From|To|Subject|Content-Type|MIME-Version):\s+\S"),
    ("http_urls_in_code", INTERNET, r"\burlopen\(|\bHTTP(?:S)?Connection\(|\bHTTPServer\b"),
    ("doctest_prompt_typing", DEVELOPMENT, r"\bfrom typing import\b|\bTypeVar\(|\bunittest\.TestCase\b"),
)


def python_labeling_functions(classes: Sequence[str]) -> list[LabelingFunction]:
    """The LF suite for the Python library chapters; LFs for classes not in ``classes`` are left out.

    A mix on purpose: one broad keyword LF per chapter (high coverage, noisy), heading and
    module-mention LFs that vote any chapter (fewer, more precise), and a few precise cues.
    """
    allowed = frozenset(classes)
    lfs: list[LabelingFunction] = []
    for label, keywords in CHAPTER_KEYWORDS.items():
        if label in allowed:
            lfs.append(topic_lf(label, keywords, 2, False, f"topic_{slug(label)}"))
    lfs.append(_headingtopic_lf(allowed))
    lfs.append(_module_lf("module_roles", _mod_roles, _ROLE_MOD_RE, allowed))
    lfs.append(_module_lf("qualified_references", _object_roles, _ROLE_OBJ_RE, allowed))
    lfs.append(_module_lf("import_statements", _imports, _IMPORT_RE, allowed))
    lfs.append(_module_lf("module_directive", _module_directives, _MODULE_DIRECTIVE_RE, allowed))
    for name, label, pattern in _FIXED_RULES:
        if label in allowed:
            lfs.append(_fixed_lf(name, label, pattern))
    return lfs
