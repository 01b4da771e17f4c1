using System.Globalization;
using System.Text.RegularExpressions;

namespace Distill.Generation.Recipes;

/// <summary>
/// Whether an answer states a fact, read as a statement rather than a substring:
/// <list type="bullet">
/// <item>Whole words only: "shipped" is not in "unshipped", "5 business days" is not in "15 business days".</item>
/// <item>Negation: an occurrence is negated by a negator among the (at most <see cref="NegationWindow"/>) words before it in the
/// same clause ("not", "no", "never", "cannot", any "n't" word, "without", ...; "no longer eligible", "cannot be considered
/// eligible"), or by a negative prefix on a one-word fact ("ineligible", "unshipped", "non-refundable"). Clauses end at
/// . , ; : ! ? and at "and", "but", "so", "because", "that", "which", "however", "although".</item>
/// <item>A fact that starts with "not", "no longer" or "never" ("not eligible") is the negative statement of the rest: it needs a
/// negated occurrence ("not eligible", "isn't eligible", "ineligible").</item>
/// <item>Values: a fact that is a number or an amount of money ("$45.00", "96", "1,250.5") matches any number of the same value
/// to the cent, with or without "$" or thousands separators ("$45", "45.00 dollars"); digits inside a longer number, an id
/// (A10045) or a date never count ("$12.00" is not in "$112.00"). A date fact (yyyy-MM-dd) matches the same day written as
/// 2026-03-14, "March 14, 2026", "Mar 14 2026" or "14 March 2026" (the year must be written, so a date is never guessed).</item>
/// </list>
/// <see cref="Satisfies"/> (an expected fact) needs a statement of the fact and no statement of its opposite, so a hedge or a
/// contradiction ("eligible ... not eligible") fails; <see cref="States"/> (a forbidden fact) needs only one statement of it,
/// hedges included ("shipped or delivered", "maybe delivered"), but not a prediction: an occurrence after a future marker in its
/// clause ("will be delivered on ...", "should be delivered", "expected to be delivered") is what a correct answer about a
/// shipped order says, not a claim that it is delivered.
/// </summary>
public static partial class FactMatcher
{
    /// <summary>How many words before an occurrence a negator may stand: enough for "cannot be considered eligible".</summary>
    public const int NegationWindow = 4;

    private static readonly HashSet<string> Negators = new(StringComparer.OrdinalIgnoreCase)
    {
        "not", "no", "never", "cannot", "cant", "nor", "neither", "without", "non", "none", "nothing", "nobody", "nowhere",
    };

    private static readonly HashSet<string> FutureMarkers = new(StringComparer.OrdinalIgnoreCase)
    {
        "will", "shall", "should", "expected", "expect", "scheduled", "estimated", "due", "going",
    };

    private static readonly HashSet<string> ClauseBreakers = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "but", "so", "because", "that", "which", "however", "although", "though", "while", "whereas", "yet",
    };

    /// <summary>The answer states <paramref name="fact"/> (with its polarity) and never states its opposite.</summary>
    public static bool Satisfies(string answer, string fact)
    {
        var (negative, occurrences) = Find(answer, fact);
        return occurrences.Any(o => o.Negated == negative) && occurrences.All(o => o.Negated == negative);
    }

    /// <summary>The answer states <paramref name="fact"/> at least once with the fact's own polarity (a negated mention does not count).</summary>
    public static bool States(string answer, string fact)
    {
        var (negative, occurrences) = Find(answer, fact);
        return occurrences.Any(o => o.Negated == negative && !o.Future);
    }

    /// <summary>The fact's polarity and, for every occurrence of its core in the answer, whether it is negated and whether it is predicted.</summary>
    private static (bool Negative, List<(bool Negated, bool Future)> Occurrences) Find(string answer, string fact)
    {
        var text = Normalize(answer);
        var core = fact.Trim().TrimEnd('.', '!', '?', ' ');
        var negative = false;
        if (LeadingNegation().Match(core) is { Success: true } lead)
        {
            negative = true;
            core = core[lead.Length..].Trim();
        }
        var occurrences = new List<(bool Negated, bool Future)>();
        if (core.Length == 0) return (negative, occurrences);
        var dates = Dates(text);
        if (TryDate(core, out var day))
        {
            foreach (var (start, _, date) in dates)
            {
                if (date == day) occurrences.Add(Context(text, start));
            }
        }
        else if (TryNumber(core, out var value))
        {
            foreach (Match m in Numbers().Matches(text))
            {
                if (dates.Any(d => m.Index < d.Start + d.Length && d.Start < m.Index + m.Length)) continue;
                if (TryNumber(m.Value, out var got) && Math.Abs(got - value) < 0.005m) occurrences.Add(Context(text, m.Index));
            }
        }
        else
        {
            var words = Regex.Escape(Normalize(core)).Replace(@"\ ", @"\s+", StringComparison.Ordinal);
            foreach (Match m in Regex.Matches(text, $@"(?<!\w)(?<!\d[.,]){words}(?!\w)(?![.,]\d)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant))
            {
                occurrences.Add(Context(text, m.Index));
            }
            if (OneWord().IsMatch(core))
            {
                // "ineligible", "unshipped", "non-refundable": the word itself says the opposite (a negator before it flips it back).
                foreach (Match m in Regex.Matches(text, $@"(?<!\w)(?:in|un|im|non-?|not-){Regex.Escape(core)}(?!\w)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant))
                {
                    var (negated, future) = Context(text, m.Index);
                    occurrences.Add((!negated, future));
                }
            }
        }
        return (negative, occurrences);
    }

    /// <summary>Whether a negator (an odd number of them) and whether a future marker stand among the few words before <paramref name="start"/> in the same clause.</summary>
    private static (bool Negated, bool Future) Context(string text, int start)
    {
        if (start == 0) return (false, false);
        var clauseStart = text.LastIndexOfAny(['.', ',', ';', ':', '!', '?', '\n', '(', ')'], Math.Max(0, start - 1));
        // A '.' between digits ("$4.50") or a ',' in "1,250" does not end a clause.
        while (clauseStart > 0 && clauseStart + 1 < text.Length && char.IsDigit(text[clauseStart - 1]) && char.IsDigit(text[clauseStart + 1]))
        {
            clauseStart = text.LastIndexOfAny(['.', ',', ';', ':', '!', '?', '\n', '(', ')'], clauseStart - 1);
        }
        var before = text[(clauseStart + 1)..start];
        var words = Words().Matches(before).Select(m => m.Value).ToList();
        bool negated = false, future = false;
        for (var i = words.Count - 1; i >= 0 && i >= words.Count - NegationWindow; i--)
        {
            var word = words[i];
            if (ClauseBreakers.Contains(word)) break;
            if (Negators.Contains(word) || word.EndsWith("n't", StringComparison.OrdinalIgnoreCase)) negated = !negated;
            if (FutureMarkers.Contains(word) || word.EndsWith("'ll", StringComparison.OrdinalIgnoreCase)) future = true;
        }
        return (negated, future);
    }

    /// <summary>Curly apostrophes straightened, so "isn’t" reads as "isn't".</summary>
    private static string Normalize(string text) => text.Replace('\u2019', '\'').Replace('\u2018', '\'');

    private static bool TryNumber(string text, out decimal value)
    {
        value = 0;
        var m = WholeNumber().Match(text.Trim());
        return m.Success && decimal.TryParse(m.Groups["n"].Value.Replace(",", "", StringComparison.Ordinal),
            NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value);
    }

    private static bool TryDate(string text, out DateOnly date) =>
        DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    /// <summary>Every date written in the answer: ISO, "March 14, 2026", "Mar 14 2026", "14 March 2026".</summary>
    private static List<(int Start, int Length, DateOnly Date)> Dates(string text)
    {
        var found = new List<(int, int, DateOnly)>();
        foreach (Match m in IsoDate().Matches(text))
        {
            if (TryDate(m.Value, out var d)) found.Add((m.Index, m.Length, d));
        }
        foreach (Match m in NamedDate().Matches(text))
        {
            var day = m.Groups["d1"].Success ? m.Groups["d1"].Value : m.Groups["d2"].Value;
            var month = m.Groups["m1"].Success ? m.Groups["m1"].Value : m.Groups["m2"].Value;
            var monthIndex = Array.FindIndex(Months, name => month.StartsWith(name, StringComparison.OrdinalIgnoreCase)) + 1;
            if (monthIndex > 0 && int.TryParse(day, CultureInfo.InvariantCulture, out var dd) && int.TryParse(m.Groups["y"].Value, CultureInfo.InvariantCulture, out var yy)
                && dd >= 1 && dd <= DateTime.DaysInMonth(yy, monthIndex))
            {
                found.Add((m.Index, m.Length, new DateOnly(yy, monthIndex, dd)));
            }
        }
        return found;
    }

    private static readonly string[] Months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

    [GeneratedRegex(@"^(?:not|no\s+longer|never)\s+", RegexOptions.IgnoreCase)]
    private static partial Regex LeadingNegation();

    [GeneratedRegex(@"^[A-Za-z]+$")]
    private static partial Regex OneWord();

    [GeneratedRegex(@"[\w']+")]
    private static partial Regex Words();

    /// <summary>A fact that is just a value: "$45.00", "-3", "1,250.5", "45 dollars".</summary>
    [GeneratedRegex(@"^\$?\s*(?<n>-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?:\s*(?:dollars|usd))?$", RegexOptions.IgnoreCase)]
    private static partial Regex WholeNumber();

    /// <summary>A number in running text, not part of a longer number, an id or a word (A10045, 3rd).</summary>
    [GeneratedRegex(@"(?<![\w.,$-])-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w)(?![.,]\d)")]
    private static partial Regex Numbers();

    [GeneratedRegex(@"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])")]
    private static partial Regex IsoDate();

    [GeneratedRegex(@"(?<!\w)(?:(?<m1>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(?<d1>\d{1,2})(?:st|nd|rd|th)?|(?<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?<m2>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?),?\s+(?<y>\d{4})(?!\d)", RegexOptions.IgnoreCase)]
    private static partial Regex NamedDate();
}
