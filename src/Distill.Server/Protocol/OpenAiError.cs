namespace Distill.Server.Protocol;

/// <summary>An error the client caused, returned as OpenAI's JSON error shape with the given HTTP status.</summary>
public sealed class OpenAiError(int status, string message, string type = "invalid_request_error", string? param = null,
    string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    public object Body => new { error = new { message = Message, type = Type, param = Param, code = Code } };

    public static OpenAiError Invalid(string message, string? param = null, string? code = null) =>
        new(400, message, param: param, code: code);
}
