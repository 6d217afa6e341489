"""Model-assisted labels: nearest class description in embedding space.

A sentence encoder already knows that a paragraph about ``recv`` and ``bind`` is about
networking, so describing each class in a sentence gives labels with no training.  It
abstains when the evidence is weak or two classes are nearly tied, because a confident
wrong vote costs more downstream than a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# What each Python library chapter is about, in words (and module names) the encoder knows.
PYTHON_CHAPTER_DESCRIPTIONS: dict[str, str] = {
    "Text Processing Services": "string manipulation and text processing: regular expressions, string formatting, "
    "text wrapping, diffs between texts, unicode character data, readline",
    "Binary Data Services": "binary data: packing and unpacking bytes with struct, byte order, codecs that encode "
    "and decode text to bytes",
    "Data Types": "specialised data types: dates and times with datetime and zoneinfo, calendars, collections like "
    "deque and namedtuple, heaps, bisection, arrays, weak references, enumerations, copying and pretty printing",
    "Numeric and Mathematical Modules": "numbers and mathematics: math functions, complex numbers, decimal and "
    "fraction arithmetic, random numbers, statistics",
    "Functional Programming Modules": "functional programming: iterator tools with itertools, higher-order "
    "functions and caching with functools, operator functions",
    "File and Directory Access": "files and directories: filesystem paths with pathlib and os.path, file "
    "comparison, temporary files, glob patterns, copying and removing directory trees with shutil",
    "Data Persistence": "storing Python objects: pickle serialisation, marshal, shelve, dbm key-value databases, "
    "sqlite3 SQL databases",
    "Data Compression and Archiving": "data compression and archives: zlib, gzip, bz2, lzma, zip files and tar "
    "archives",
    "File Formats": "file formats: reading and writing CSV files, configuration files with configparser, TOML, "
    "netrc and plist files",
    "Cryptographic Services": "cryptographic services: secure hashes and message digests with hashlib, HMAC, "
    "generating secure random tokens and passwords with secrets",
    "Generic Operating System Services": "operating system services: the os module, file descriptors and I/O "
    "streams, time, command-line argument parsing with argparse, logging, curses terminal handling, platform, "
    "errno, ctypes foreign functions",
    "Concurrent Execution": "concurrent execution: threads and locks, multiprocessing, process and thread pools "
    "with concurrent.futures, running subprocesses, queues, context variables",
    "Networking and Interprocess Communication": "networking and interprocess communication: asyncio event loops "
    "and coroutines, low-level sockets, SSL/TLS, select and selectors, signal handlers, memory-mapped files",
    "Internet Data Handling": "internet data formats: email messages and MIME, JSON encoding and decoding, "
    "mailboxes, mime types, base64 and binascii encodings",
    "Structured Markup Processing Tools": "markup processing: HTML parsing, XML with ElementTree, DOM, minidom, "
    "SAX and expat parsers",
    "Internet Protocols and Support": "internet protocols: URLs and urllib, HTTP clients and servers, FTP, POP3, "
    "IMAP, SMTP, web browsers, WSGI, cookies, XML-RPC, IP addresses, UUIDs",
    "Multimedia Services": "multimedia: reading and writing WAV audio files, colour system conversions",
    "Internationalization": "internationalization: translating messages with gettext and message catalogs, "
    "locale settings and localised formatting",
    "Program Frameworks": "program frameworks: turtle graphics, line-oriented command interpreters with cmd, "
    "shell-like lexical analysis with shlex",
    "Graphical User Interfaces with Tk": "graphical user interfaces with Tk: tkinter widgets, windows, buttons, "
    "dialogs, fonts, themed ttk widgets, the IDLE editor",
    "Development Tools": "development tools: type hints with typing, documentation with pydoc, testing with "
    "doctest and unittest, mock objects, 2to3 code migration, the development mode",
    "Debugging and Profiling": "debugging and profiling: the pdb debugger, breakpoints, profilers, timing code "
    "with timeit, tracing execution, tracemalloc memory allocations, faulthandler, audit events",
    "Software Packaging and Distribution": "packaging and distribution: distutils, installing pip with "
    "ensurepip, virtual environments with venv, zipapp executable archives",
    "Python Runtime Services": "the Python runtime: the sys module, sysconfig, builtins, __main__, warnings, "
    "dataclasses, context managers, abstract base classes, atexit, tracebacks, garbage collection, inspecting "
    "live objects, site-packages",
    "Custom Python Interpreters": "custom Python interpreters: interactive consoles and read-eval-print loops "
    "with code and codeop, compiling incomplete input",
    "Importing Modules": "importing modules: importlib, finders and loaders, module specs, zipimport, pkgutil, "
    "runpy, sys.path initialisation, package resources and metadata",
    "Python Language Services": "Python language tooling: abstract syntax trees with ast, tokens and tokenize, "
    "keywords, symbol tables, compiling to bytecode, disassembling bytecode with dis",
    "MS Windows Specific Services": "Microsoft Windows specific services: the Windows registry with winreg, "
    "msvcrt console routines, winsound",
    "Unix Specific Services": "Unix specific services: POSIX, the password and group databases, terminal control "
    "with termios and tty, pseudo-terminals, fcntl file locking, resource limits, syslog",
    "Superseded Modules": "deprecated and superseded modules kept for backwards compatibility and scheduled for "
    "removal: optparse, imp, asyncore, asynchat, cgi, telnetlib, nntplib, smtpd, uu, xdrlib, audio file modules",
}


def label_descriptions(classes: Sequence[str]) -> list[str]:
    """One sentence per class to embed: the hand-written text for Python chapters, a generic one otherwise."""
    out = []
    for label in classes:
        known = PYTHON_CHAPTER_DESCRIPTIONS.get(label)
        out.append(f"Python documentation about {known}." if known else f"Documentation about {label}.")
    return out


def zero_shot_votes(
    chunk_embeddings: np.ndarray,
    label_embeddings: np.ndarray,
    min_margin: float = 0.02,
    min_similarity: float = 0.2,
    temperature: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Class index per chunk (-1 to abstain) and the softmax probability of the best class.

    Inputs must be L2-normalised rows, so the dot product is the cosine similarity.  The
    confidence is reported for abstained rows too, so thresholds can be re-tuned without
    re-embedding.
    """
    chunks = np.asarray(chunk_embeddings, dtype=np.float64)
    labels = np.asarray(label_embeddings, dtype=np.float64)
    if chunks.ndim != 2 or labels.ndim != 2 or chunks.shape[1] != labels.shape[1]:
        raise ValueError(f"need (n, d) and (k, d) embeddings, got {chunks.shape} and {labels.shape}")
    if labels.shape[0] == 0:
        raise ValueError("need at least one label embedding")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    n = chunks.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    sims = chunks @ labels.T
    best = sims.argmax(axis=1)
    top = sims[np.arange(n), best]
    if labels.shape[0] > 1:
        second = np.partition(sims, -2, axis=1)[:, -2]
        margin = top - second
    else:
        margin = np.full(n, np.inf)
    scaled = (sims - top[:, None]) / temperature
    confidence = 1.0 / np.exp(scaled).sum(axis=1)
    index = np.where((top >= min_similarity) & (margin >= min_margin), best, -1).astype(np.int64)
    return index, confidence
