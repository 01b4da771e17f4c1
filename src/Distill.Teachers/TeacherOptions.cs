using Distill.Core.Errors;

namespace Distill.Teachers;

/// <summary>The teacher providers Distill can talk to.</summary>
public static class TeacherProviders
{
    /// <summary>Azure OpenAI: <c>POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...</c>, <c>api-key</c> header.</summary>
    public const string AzureOpenAI = "azure-openai";

    /// <summary>Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama, Distill's own <c>serve</c>): <c>POST {endpoint}/chat/completions</c>, Bearer auth.</summary>
    public const string OpenAICompatible = "openai-compatible";

    public static bool IsKnown(string? provider) => provider is AzureOpenAI or OpenAICompatible;
}

/// <summary>
/// One teacher endpoint, bound from configuration (<c>Teachers:N</c> of appsettings.json). Holds no secret: <see cref="ApiKeyEnv"/> names the
/// environment variable that holds the key. Each teacher gets its own resilience pipeline (rate limits, retries, circuit breaker).
/// </summary>
public sealed class TeacherOptions
{
    /// <summary>Azure OpenAI API versions that Azure.AI.OpenAI 2.1.0 supports.</summary>
    public static readonly IReadOnlyList<string> SupportedAzureApiVersions = ["2024-10-21", "2024-06-01"];

    /// <summary>Unique name other settings refer to (e.g. <see cref="FallbackTeacher"/>).</summary>
    public string Name { get; set; } = "";

    /// <summary><see cref="TeacherProviders.AzureOpenAI"/> or <see cref="TeacherProviders.OpenAICompatible"/>.</summary>
    public string Provider { get; set; } = TeacherProviders.OpenAICompatible;

    /// <summary>Azure: the resource URL (<c>https://name.openai.azure.com</c>). OpenAI-compatible: the base URL including <c>/v1</c>.</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>Model name (OpenAI-compatible) or deployment name (Azure).</summary>
    public string Model { get; set; } = "";

    /// <summary>Azure only: the REST API version, one of <see cref="SupportedAzureApiVersions"/>.</summary>
    public string ApiVersion { get; set; } = "2024-10-21";

    /// <summary>Name of the environment variable that holds the API key, never the key itself. Azure without it uses DefaultAzureCredential;
    /// OpenAI-compatible without it sends a placeholder key (local servers ignore it).</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>Tokenizer id of the teacher when known (local teachers): recorded in the dataset so logit KD can refuse a mismatch.</summary>
    public string? TokenizerId { get; set; }

    /// <summary>
    /// Send each assistant history message's reasoning back as <c>reasoning_content</c>. Distill's own <c>serve</c> renders it
    /// as the &lt;think&gt; block training showed the model, so a multi-turn conversation stays the one it was trained on;
    /// vLLM and SGLang accept it too. Off by default: OpenAI, Azure OpenAI and DeepSeek reject unknown message fields.
    /// </summary>
    public bool SendReasoning { get; set; }

    /// <summary>
    /// Whether this server's logprobs are the model's own distribution before temperature and top-p (true: vLLM's default
    /// <c>--logprobs-mode raw_logprobs</c>) or the distribution it sampled from (false: vLLM's <c>processed_logprobs</c>,
    /// llama.cpp's post-sampling probabilities). Recorded with each turn's logprobs so logit KD knows their temperature. Null
    /// (the default): not known, unless the server says so in its response, as Distill's own <c>serve</c> does.
    /// </summary>
    public bool? RawLogprobs { get; set; }

    // Rate limits (client side, so the server never has to say 429).
    /// <summary>Requests per minute; null for no limit. Spread evenly (a burst of at most a tenth of a second's worth).</summary>
    public int? Rpm { get; set; }

    /// <summary>Tokens (prompt + completion) per minute; null for no limit. Estimated before each call, corrected from usage after.</summary>
    public int? Tpm { get; set; }

    /// <summary>Most requests in flight at once.</summary>
    public int MaxConcurrency { get; set; } = 16;

    // Timeouts and retries.
    /// <summary>Timeout of one HTTP attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Timeout of one call including every retry and wait.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Retries after the first attempt for 429 / 5xx / timeouts / dropped connections.</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>First backoff delay; doubles each retry, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of one backoff delay.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Cap of a server-requested delay (Retry-After / retry-after-ms).</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(2);

    // Circuit breaker.
    /// <summary>Failure ratio within <see cref="CircuitSamplingDuration"/> that opens the circuit.</summary>
    public double CircuitFailureRatio { get; set; } = 0.5;

    /// <summary>Fewest calls in the sampling window before the circuit may open.</summary>
    public int CircuitMinimumThroughput { get; set; } = 10;

    /// <summary>Window over which <see cref="CircuitFailureRatio"/> is measured.</summary>
    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the circuit stays open before a trial call.</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>USD per 1M prompt tokens, for cost accounting and `--budget-usd`; 0 for a free (local) teacher.</summary>
    public double InputPricePer1M { get; set; }

    /// <summary>Price of cached prompt tokens; null means the same as <see cref="InputPricePer1M"/>.</summary>
    public double? CachedInputPricePer1M { get; set; }

    /// <summary>USD per 1M completion tokens (reasoning tokens included).</summary>
    public double OutputPricePer1M { get; set; }

    /// <summary>
    /// Price of a Batch API request (<c>distill generate --batch</c>) as a fraction of the prices above: both Azure OpenAI and
    /// OpenAI bill batches at half the online price. Rows of a batch run carry this price.
    /// </summary>
    public double BatchPriceFactor { get; set; } = 0.5;

    /// <summary>
    /// Whether this teacher's endpoint has the Files and Batch APIs that <c>distill generate --batch</c> sends requests through.
    /// Null (the default): Azure OpenAI and OpenAI itself (<c>api.openai.com</c>) have them; any other OpenAI-compatible server
    /// (vLLM, llama.cpp, Ollama, Distill's own <c>serve</c>) does not, so in a routed <c>--batch</c> run its tasks go online.
    /// Set true for a gateway or server that does take batches, false for an Azure deployment that does not.
    /// </summary>
    public bool? BatchApi { get; set; }

    /// <summary>What <see cref="BatchApi"/> says, or the provider's default when it is unset.</summary>
    public bool TakesBatches() => BatchApi ?? (Provider == TeacherProviders.AzureOpenAI
        || (Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) && uri.Host.Equals("api.openai.com", StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// Most this teacher may cost in one <c>distill generate</c> run, in USD; null for no limit of its own (<c>--budget-usd</c> still
    /// caps the run). Kept like <c>--budget-usd</c>: each request reserves its worst-case cost first, so it is never passed. When it
    /// is spent, only the tasks routed to this teacher stop (left for the next run); the other teachers go on.
    /// </summary>
    public double? BudgetUsd { get; set; }

    /// <summary>Name of the teacher to use when this one is down (circuit open or retries exhausted).</summary>
    public string? FallbackTeacher { get; set; }

    /// <summary>Every problem with these settings, as sentences a user can act on; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        string who = string.IsNullOrWhiteSpace(Name) ? "teacher" : $"teacher '{Name}'";
        if (string.IsNullOrWhiteSpace(Name)) p.Add("A teacher has no Name; give each teacher a unique name.");
        if (!TeacherProviders.IsKnown(Provider))
            p.Add($"{who}: Provider '{Provider}' is unknown; use '{TeacherProviders.AzureOpenAI}' or '{TeacherProviders.OpenAICompatible}'.");
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            p.Add($"{who}: Endpoint '{Endpoint}' is not an absolute http(s) URL.");
        if (string.IsNullOrWhiteSpace(Model))
            p.Add($"{who}: Model is empty; set the model name (or the deployment name for Azure).");
        if (Provider == TeacherProviders.AzureOpenAI && !SupportedAzureApiVersions.Contains(ApiVersion))
            p.Add($"{who}: ApiVersion '{ApiVersion}' is not supported; use one of {string.Join(", ", SupportedAzureApiVersions)}.");
        if (ApiKeyEnv is not null && (ApiKeyEnv.Length == 0 || ApiKeyEnv.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_'))))
            p.Add($"{who}: ApiKeyEnv must be the NAME of an environment variable (letters, digits, '_'), not the key itself.");
        if (Rpm is <= 0) p.Add($"{who}: Rpm must be positive (or unset for no limit).");
        if (Tpm is <= 0) p.Add($"{who}: Tpm must be positive (or unset for no limit).");
        if (MaxConcurrency <= 0) p.Add($"{who}: MaxConcurrency must be at least 1.");
        if (AttemptTimeout <= TimeSpan.Zero) p.Add($"{who}: AttemptTimeout must be positive.");
        if (TotalTimeout < AttemptTimeout) p.Add($"{who}: TotalTimeout ({TotalTimeout}) must be at least AttemptTimeout ({AttemptTimeout}).");
        if (MaxRetries < 0) p.Add($"{who}: MaxRetries must be 0 or more.");
        if (RetryBaseDelay < TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay) p.Add($"{who}: need 0 <= RetryBaseDelay <= RetryMaxDelay.");
        if (CircuitFailureRatio is <= 0 or > 1) p.Add($"{who}: CircuitFailureRatio must be in (0, 1].");
        if (CircuitMinimumThroughput < 2) p.Add($"{who}: CircuitMinimumThroughput must be at least 2.");
        if (CircuitSamplingDuration < TimeSpan.FromMilliseconds(500)) p.Add($"{who}: CircuitSamplingDuration must be at least 0.5 s.");
        if (CircuitBreakDuration < TimeSpan.FromMilliseconds(500)) p.Add($"{who}: CircuitBreakDuration must be at least 0.5 s.");
        if (InputPricePer1M < 0 || OutputPricePer1M < 0 || CachedInputPricePer1M < 0) p.Add($"{who}: prices cannot be negative.");
        if (!(BatchPriceFactor is >= 0 and <= 1)) p.Add($"{who}: BatchPriceFactor must be between 0 and 1 (the batch price as a fraction of the online price; 0.5 for Azure OpenAI and OpenAI).");
        if (BudgetUsd is { } budget && !(budget >= 0 && double.IsFinite(budget))) p.Add($"{who}: BudgetUsd must be a finite amount of at least 0 (or unset for no limit of its own).");
        if (FallbackTeacher is not null && FallbackTeacher == Name) p.Add($"{who}: FallbackTeacher cannot be the teacher itself.");
        return p;
    }

    /// <summary>Throws a <see cref="DistillException"/> listing every problem.</summary>
    public void ThrowIfInvalid()
    {
        var problems = Validate();
        if (problems.Count > 0)
            throw new DistillException($"Invalid teacher settings: {string.Join(" ", problems)}", "fix the Teachers section of appsettings.json or the matching DISTILL__Teachers__N__* environment variables");
    }
}
