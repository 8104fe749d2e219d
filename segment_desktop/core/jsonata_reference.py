"""The JSONata functions a template may call, with a signature, a line of help and an example.

One table feeds the studio's completion after ``$`` and its searchable function reference.
Signatures follow the JSONata documentation (docs.jsonata.org, "Function Library"); the
descriptions are our own words. Each example's ``result`` is what the expression gives (a test
evaluates every one of them with each engine); ``None`` marks an example whose result changes
from run to run.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BY_NAME", "FUNCTIONS", "JsonataFunction", "search_functions"]


@dataclass(frozen=True)
class JsonataFunction:
    """One function: ``name`` without the ``$``."""

    name: str
    signature: str
    description: str
    example: str
    result: str | None
    category: str
    ours: bool = False

    @property
    def insert_text(self) -> str:
        """What completion puts in the template: the call's name and its opening bracket."""
        return f"${self.name}("


def _f(
    category: str, signature: str, description: str, example: str, result: str | None
) -> JsonataFunction:
    name = signature[1 : signature.index("(")]
    return JsonataFunction(name, signature, description, example, result, category)


# fmt: off
FUNCTIONS: tuple[JsonataFunction, ...] = (
    # -- ours (core/render.py HELPERS) ----------------------------------------------------------
    JsonataFunction(
        "amount",
        "$amount(money[, currency])",
        "A Commerce amount in minor units as a decimal in the main unit, using the currency's "
        "decimal places (2750 GBP is 27.5, 1500 JPY stays 1500).",
        '$amount({"amount": 2750, "currency": "GBP"})',
        "27.5",
        "Segment Desktop",
        ours=True,
    ),
    JsonataFunction(
        "anonymousId",
        "$anonymousId(email)",
        "A stable anonymous id for a guest, made from the email address (the same address "
        "always gives the same id; the address itself is not sent).",
        '$substring($anonymousId("ann@example.com"), 0, 5)',
        '"anon-"',
        "Segment Desktop",
        ours=True,
    ),
    # -- strings --------------------------------------------------------------------------------
    _f("String", "$string(arg[, prettify])", "Turns any value into text (objects and arrays "
       "become JSON; prettify=true indents it).", "$string(42)", '"42"'),
    _f("String", "$length(str)", "How many characters a string has.", '$length("shirt")', "5"),
    _f("String", "$substring(str, start[, length])", "Part of a string from a 0-based start "
       "(negative counts from the end), optionally only length characters.",
       '$substring("Commerce", 0, 4)', '"Comm"'),
    _f("String", "$substringBefore(str, chars)", "The text before the first occurrence of "
       "chars (all of str when it does not occur).", '$substringBefore("ab-12", "-")', '"ab"'),
    _f("String", "$substringAfter(str, chars)", "The text after the first occurrence of chars "
       "(all of str when it does not occur).", '$substringAfter("ab-12", "-")', '"12"'),
    _f("String", "$uppercase(str)", "The string in capitals.", '$uppercase("gbp")', '"GBP"'),
    _f("String", "$lowercase(str)", "The string in small letters.", '$lowercase("SKU-1")',
       '"sku-1"'),
    _f("String", "$trim(str)", "Spaces at both ends removed and runs of whitespace inside "
       "collapsed to one space.", '$trim("  two   words ")', '"two words"'),
    _f("String", "$pad(str, width[, char])", "Fills the string up to width characters with "
       "char (a space by default): on the right, or on the left for a negative width.",
       '$pad("7", -3, "0")', '"007"'),
    _f("String", "$contains(str, pattern)", "true when the string holds pattern (text, or a "
       "/regex/).", '$contains("free shipping", "ship")', "true"),
    _f("String", "$split(str, separator[, limit])", "The pieces of a string between each "
       "separator (text or /regex/), as an array.", '$split("a,b,c", ",")', '["a","b","c"]'),
    _f("String", "$join(array[, separator])", "Strings of an array glued into one, with "
       "separator between them.", '$join(["a", "b"], "+")', '"a+b"'),
    _f("String", "$match(str, pattern[, limit])", "Where a /regex/ matches: an object per "
       "match with the text, its index and its groups.", '$match("ab12", /[0-9]+/).match',
       '"12"'),
    _f("String", "$replace(str, pattern, replacement[, limit])", "Every match of pattern "
       "(text or /regex/) replaced; $1… in replacement are the regex's groups.",
       '$replace("a-b-c", "-", "/")', '"a/b/c"'),
    _f("String", "$eval(expr[, context])", "Runs a JSONata expression given as text.",
       '$eval("1 + 2")', "3"),
    _f("String", "$base64encode(str)", "The string in Base64.", '$base64encode("hi")',
       '"aGk="'),
    _f("String", "$base64decode(str)", "A Base64 string decoded back to text.",
       '$base64decode("aGk=")', '"hi"'),
    _f("String", "$encodeUrlComponent(str)", "The string escaped for use inside one part of "
       "a URL (a query value, a path segment).", '$encodeUrlComponent("a b&c")', '"a%20b%26c"'),
    _f("String", "$encodeUrl(str)", "A whole URL escaped, leaving its / ? & = intact.",
       '$encodeUrl("https://x.io/a b")', '"https://x.io/a%20b"'),
    _f("String", "$decodeUrlComponent(str)", "Undoes $encodeUrlComponent.",
       '$decodeUrlComponent("a%20b")', '"a b"'),
    _f("String", "$decodeUrl(str)", "Undoes $encodeUrl.", '$decodeUrl("x.io/a%20b")',
       '"x.io/a b"'),
    # -- numbers --------------------------------------------------------------------------------
    _f("Number", "$number(arg)", "A number from a numeric string or a boolean; an error for "
       "anything else.", '$number("12.5")', "12.5"),
    _f("Number", "$abs(number)", "The number without its sign.", "$abs(-3)", "3"),
    _f("Number", "$floor(number)", "Rounded down to a whole number.", "$floor(2.7)", "2"),
    _f("Number", "$ceil(number)", "Rounded up to a whole number.", "$ceil(2.1)", "3"),
    _f("Number", "$round(number[, precision])", "Rounded to precision decimal places, halves "
       "to the even neighbour (2.5 gives 2).", "$round(2.5)", "2"),
    _f("Number", "$power(base, exponent)", "base raised to exponent.", "$power(2, 10)",
       "1024"),
    _f("Number", "$sqrt(number)", "The square root.", "$sqrt(9)", "3"),
    _f("Number", "$random()", "A random number from 0 up to (not including) 1.",
       "$random() < 1", "true"),
    _f("Number", "$formatNumber(number, picture[, options])", "The number as text laid out "
       "by an XPath picture such as '#,##0.00'.", '$formatNumber(1234.5, "#,##0.00")',
       '"1,234.50"'),
    _f("Number", "$formatBase(number[, radix])", "The whole number written in another base "
       "(2 to 36).", "$formatBase(255, 16)", '"ff"'),
    _f("Number", "$formatInteger(number, picture)", "A whole number as text by a picture: "
       "digits, 'w' for words, 'I' for Roman numerals.", '$formatInteger(12, "w")',
       '"twelve"'),
    _f("Number", "$parseInteger(string, picture)", "Reads a whole number written the way "
       "picture describes (the reverse of $formatInteger).", '$parseInteger("twelve", "w")',
       "12"),
    # -- aggregation ----------------------------------------------------------------------------
    _f("Aggregation", "$sum(array)", "The numbers of an array added up (0 for an empty "
       "array).", "$sum([1, 2, 3])", "6"),
    _f("Aggregation", "$max(array)", "The largest number of an array.", "$max([4, 9, 2])",
       "9"),
    _f("Aggregation", "$min(array)", "The smallest number of an array.", "$min([4, 9, 2])",
       "2"),
    _f("Aggregation", "$average(array)", "The mean of the numbers of an array.",
       "$average([2, 4])", "3"),
    # -- boolean --------------------------------------------------------------------------------
    _f("Boolean", "$boolean(arg)", "true or false by JSONata's rules (empty strings, 0, "
       "empty arrays and null are false).", '$boolean("")', "false"),
    _f("Boolean", "$not(arg)", "The opposite of $boolean(arg).", "$not(0)", "true"),
    _f("Boolean", "$exists(arg)", "true when the expression has a value (a missing field "
       "gives false, null gives true).", "$exists(null)", "true"),
    # -- arrays ---------------------------------------------------------------------------------
    _f("Array", "$count(array)", "How many items an array has (1 for a single value, 0 when "
       "there is none).", "$count([1, 2, 3])", "3"),
    _f("Array", "$append(array1, array2)", "Two arrays (or values) joined into one array.",
       "$append([1], [2, 3])", "[1,2,3]"),
    _f("Array", "$sort(array[, function])", "The array in order; function($l, $r) returns "
       "true when $l must come after $r.", "$sort([3, 1, 2])", "[1,2,3]"),
    _f("Array", "$reverse(array)", "The array back to front.", "$reverse([1, 2, 3])",
       "[3,2,1]"),
    _f("Array", "$shuffle(array)", "The array in random order.", "$count($shuffle([1, 2]))",
       "2"),
    _f("Array", "$distinct(array)", "The array without repeated values.",
       "$distinct([1, 1, 2])", "[1,2]"),
    _f("Array", "$zip(array1, …)", "Arrays interleaved: an array of the first items, of the "
       "second items, and so on.", "$zip([1, 2], [3, 4])", "[[1,3],[2,4]]"),
    # -- objects --------------------------------------------------------------------------------
    _f("Object", "$keys(object)", "The field names of an object (of all objects, for an "
       "array of them).", '$keys({"a": 1, "b": 2})', '["a","b"]'),
    _f("Object", "$lookup(object, key)", "The value of a field whose name is computed (or "
       "not a plain identifier).", '$lookup({"a-b": 1}, "a-b")', "1"),
    _f("Object", "$spread(object)", "An object split into an array of one-field objects.",
       '$spread({"a": 1, "b": 2})', '[{"a":1},{"b":2}]'),
    _f("Object", "$merge(array)", "An array of objects combined into one; later fields win.",
       '$merge([{"a": 1}, {"b": 2}])', '{"a":1,"b":2}'),
    _f("Object", "$sift(object, function)", "Only the fields for which function($value, $key) "
       "is true.", '$sift({"a": 1, "b": 0}, function($v) { $v > 0 })', '{"a":1}'),
    _f("Object", "$each(object, function)", "function($value, $key) applied to every field; "
       "the results as an array.", '$each({"a": 1}, function($v, $k) { $k & $v })', '"a1"'),
    _f("Object", "$error(message)", "Stops the template with this error message.",
       '$type($error)', '"function"'),
    _f("Object", "$assert(condition, message)", "Stops the template with message when "
       "condition is false.", '$assert(true, "never shown")', None),
    _f("Object", "$type(value)", "The kind of a value: \"string\", \"number\", \"boolean\", "
       "\"null\", \"array\", \"object\" or \"function\".", "$type([1])", '"array"'),
    # -- dates ----------------------------------------------------------------------------------
    _f("Date/time", "$now([picture[, timezone]])", "The time the template runs, as an "
       "ISO 8601 text (the same for the whole run).", "$type($now())", '"string"'),
    _f("Date/time", "$millis()", "The time the template runs, in milliseconds since 1970.",
       "$millis() > 0", "true"),
    _f("Date/time", "$fromMillis(number[, picture[, timezone]])", "Milliseconds since 1970 "
       "as an ISO 8601 text (or laid out by picture).", "$fromMillis(0)",
       '"1970-01-01T00:00:00.000Z"'),
    _f("Date/time", "$toMillis(timestamp[, picture])", "An ISO 8601 text (or one laid out by "
       "picture) as milliseconds since 1970.", '$toMillis("1970-01-01T00:00:01.000Z")',
       "1000"),
    # -- higher-order ---------------------------------------------------------------------------
    _f("Higher-order", "$map(array, function)", "function($value, $index) applied to every "
       "item; the results as an array.", "$map([1, 2], function($v) { $v * 10 })", "[10,20]"),
    _f("Higher-order", "$filter(array, function)", "Only the items for which "
       "function($value, $index) is true.", "$filter([1, 5, 8], function($v) { $v > 4 })",
       "[5,8]"),
    _f("Higher-order", "$single(array[, function])", "The one item that matches; an error "
       "when none or several do.", "$single([1, 5], function($v) { $v > 4 })", "5"),
    _f("Higher-order", "$reduce(array, function[, init])", "Folds an array into one value: "
       "function($sum, $value) is called item by item.",
       "$reduce([1, 2, 3], function($a, $b) { $a + $b })", "6"),
)
# fmt: on

BY_NAME: dict[str, JsonataFunction] = {f.name: f for f in FUNCTIONS}


def search_functions(query: str) -> list[JsonataFunction]:
    """Functions whose name, signature or description mention every word of ``query``;
    name matches first."""
    words = query.lower().replace("$", "").split()
    if not words:
        return list(FUNCTIONS)
    found = [
        f
        for f in FUNCTIONS
        if all(w in f"{f.signature} {f.description} {f.category}".lower() for w in words)
    ]
    return sorted(found, key=lambda f: not f.name.lower().startswith(words[0]))
