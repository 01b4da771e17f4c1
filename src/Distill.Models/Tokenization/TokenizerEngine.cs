namespace Distill.Models.Tokenization;

/// <summary>Which implementation encodes.</summary>
public enum TokenizerEngine
{
    /// <summary>Microsoft.ML.Tokenizers where it reproduces the file exactly, Distill's own encoder otherwise.</summary>
    Auto,
    MlTokenizers,
    Own,
}
