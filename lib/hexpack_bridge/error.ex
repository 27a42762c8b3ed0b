defmodule HexpackBridge.Error do
  @moduledoc """
  Why the Python server could not be started or stopped.

  `reason` is one of:

    * `:priv_not_found` - `priv/python/grpc_server.py` is not where `:code.priv_dir/1` says
    * `:python_not_found` - the chosen Python executable does not exist
    * `:exited` - the server exited before it printed `READY <port>`
    * `:timeout` - it did not print `READY <port>` in time
    * `:stop_failed` - it did not exit cleanly when asked to stop

  `message` is one line that names what was tried and how to fix it.
  """

  defexception [:reason, :message, output: ""]

  @type t :: %__MODULE__{reason: atom(), message: String.t(), output: String.t()}
end
