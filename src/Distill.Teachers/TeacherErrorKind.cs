namespace Distill.Teachers;

/// <summary>What a teacher's 4xx answer is about, read from its status, <c>error.type</c>, <c>code</c>, <c>param</c> and message.</summary>
public enum TeacherErrorKind
{
    /// <summary>Nothing more specific is known.</summary>
    Other,

    /// <summary>The model does not give logprobs ("You are not allowed to request logprobs", "'logprobs' is not supported").</summary>
    LogprobsRefused,

    /// <summary>The model or deployment name is wrong (404 model_not_found, Azure DeploymentNotFound).</summary>
    ModelNotFound,

    /// <summary>The api-version is not supported by the resource (Azure answers 404 "Resource not found" or 400).</summary>
    ApiVersion,

    /// <summary>Prompt plus max_tokens exceed the model's context (context_length_exceeded).</summary>
    ContextLength,

    /// <summary>The provider's content filter refused the prompt: a property of the sample, never of the configuration.</summary>
    ContentFilter,
}

public static class TeacherErrorKinds
{
    /// <summary>
    /// Classifies a 4xx answer. Providers word these differently, so each kind is recognised by its code or param first and by
    /// the usual phrases of OpenAI, Azure OpenAI and vLLM second.
    /// </summary>
    public static TeacherErrorKind Classify(int status, string? type, string? code, string? param, string? message)
    {
        static bool Has(string? text, string part) => text?.Contains(part, StringComparison.OrdinalIgnoreCase) == true;
        if (code == "content_filter") return TeacherErrorKind.ContentFilter;
        if (Has(param, "logprobs") || Has(message, "logprobs")) return TeacherErrorKind.LogprobsRefused;
        if (code == "context_length_exceeded" || Has(message, "context length") || Has(message, "maximum context")) return TeacherErrorKind.ContextLength;
        if (Has(param, "api-version") || Has(code, "apiversion") || Has(message, "api-version") || Has(message, "api version")) return TeacherErrorKind.ApiVersion;
        if (code is "model_not_found" or "DeploymentNotFound" || Has(param, "model") && status is 400 or 404
            || status == 404 && Has(message, "model") && (Has(message, "does not exist") || Has(message, "not found")))
            return TeacherErrorKind.ModelNotFound;
        return TeacherErrorKind.Other;
    }

    /// <summary>
    /// True for kinds that say the run's configuration is wrong (no sample can succeed), so even a run too short to repeat
    /// the error <c>N</c> times stops on it. Context length and unknown errors may be a property of one sample.
    /// </summary>
    public static bool IsConfiguration(TeacherErrorKind kind) =>
        kind is TeacherErrorKind.LogprobsRefused or TeacherErrorKind.ModelNotFound or TeacherErrorKind.ApiVersion;
}
