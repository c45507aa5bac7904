namespace StreamDingo;

/// <summary>The base of every StreamDingo error.</summary>
public class StreamDingoException : Exception
{
    /// <summary>An error without a message.</summary>
    public StreamDingoException()
    {
    }

    /// <summary>An error with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public StreamDingoException(string message) : base(message)
    {
    }

    /// <summary>An error with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public StreamDingoException(string message, Exception? innerException) : base(message, innerException)
    {
    }
}
