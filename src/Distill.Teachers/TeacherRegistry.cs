using System.ClientModel.Primitives;
using Distill.Core.Errors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distill.Teachers;

/// <summary>
/// Builds every configured teacher once (one resilience pipeline per teacher, shared by all callers) and hands out
/// <see cref="ITeacher"/>s with their fallback chain wired: <c>Get("a")</c> is a -> a.FallbackTeacher -> ...
/// </summary>
public sealed class TeacherRegistry : IDisposable
{
    private readonly Dictionary<string, ResilientTeacher> _resilient = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TeacherOptions> _options = new(StringComparer.Ordinal);
    private readonly ILoggerFactory _loggers;

    private TeacherRegistry(ILoggerFactory loggers, UsageMeter meter) { _loggers = loggers; Meter = meter; }

    /// <summary>Usage and cost of every call through this registry.</summary>
    public UsageMeter Meter { get; }

    public IReadOnlyCollection<string> Names => _options.Keys;

    public TeacherOptions OptionsOf(string name) => _options.TryGetValue(name, out var o) ? o
        : throw new DistillException($"No teacher named '{name}' is configured.", $"configured teachers: {string.Join(", ", _options.Keys)}");

    /// <summary>Every problem across the teachers: each one's <see cref="TeacherOptions.Validate"/>, duplicate names, unknown or circular fallbacks.</summary>
    public static IReadOnlyList<string> Validate(IReadOnlyList<TeacherOptions> teachers)
    {
        var problems = new List<string>();
        if (teachers.Count == 0) problems.Add("No teacher is configured; add one under Teachers in appsettings.json.");
        foreach (var t in teachers) problems.AddRange(t.Validate());
        var byName = new Dictionary<string, TeacherOptions>(StringComparer.Ordinal);
        foreach (var t in teachers)
            if (!byName.TryAdd(t.Name, t)) problems.Add($"Teacher name '{t.Name}' is used twice; names must be unique.");
        foreach (var t in teachers)
        {
            if (t.FallbackTeacher is null) continue;
            if (!byName.ContainsKey(t.FallbackTeacher)) { problems.Add($"teacher '{t.Name}': FallbackTeacher '{t.FallbackTeacher}' is not configured."); continue; }
            var seen = new HashSet<string> { t.Name };
            for (var next = t.FallbackTeacher; next is not null && byName.TryGetValue(next, out var n); next = n.FallbackTeacher)
                if (!seen.Add(next)) { problems.Add($"teacher '{t.Name}': the fallback chain loops ({string.Join(" -> ", seen)} -> {next})."); break; }
        }
        return problems.Distinct().ToList();
    }

    /// <param name="environment">Reads API keys from environment variables; defaults to the process environment.</param>
    /// <param name="transport">HTTP transport override for every teacher (tests, benchmarks).</param>
    public static TeacherRegistry Create(IReadOnlyList<TeacherOptions> teachers, ILoggerFactory? loggerFactory = null, UsageMeter? meter = null,
        Func<string, string?>? environment = null, PipelineTransport? transport = null)
    {
        var problems = Validate(teachers);
        if (problems.Count > 0)
            throw new DistillException($"Invalid teacher settings: {string.Join(" ", problems)}", "fix the Teachers section of appsettings.json or the DISTILL__Teachers__N__* environment variables");
        var registry = new TeacherRegistry(loggerFactory ?? NullLoggerFactory.Instance, meter ?? new UsageMeter());
        try
        {
            foreach (var t in teachers)
            {
                var raw = new OpenAIChatTeacher(t, environment, transport);
                registry._options[t.Name] = t;
                registry._resilient[t.Name] = new ResilientTeacher(raw, t, registry._loggers.CreateLogger($"Distill.Teachers.{t.Name}"), registry.Meter);
            }
        }
        catch
        {
            registry.Dispose();
            throw;
        }
        return registry;
    }

    /// <summary>The teacher named <paramref name="name"/>, with its fallback chain.</summary>
    public ITeacher Get(string name) => Get(name, (_, teacher) => teacher);

    /// <summary>
    /// The teacher named <paramref name="name"/>, with its fallback chain, each teacher of the chain passed through
    /// <paramref name="wrap"/> (its name, its client) before it is chained: what wraps a teacher (its own budget) then applies
    /// whichever route reaches it, as the primary or as someone's fallback.
    /// </summary>
    public ITeacher Get(string name, Func<string, ITeacher, ITeacher> wrap)
    {
        var options = OptionsOf(name);
        var teacher = wrap(name, _resilient[name]);
        return options.FallbackTeacher is { } fb
            ? new FallbackTeacher(teacher, Get(fb, wrap), _loggers.CreateLogger<FallbackTeacher>())
            : teacher;
    }

    public void Dispose()
    {
        foreach (var t in _resilient.Values) t.Dispose();
    }
}
