'use strict';
// Shared plumbing of the two ocpp-rpc peers driven by tests/interop/test_ocpp_rpc.py.
//
// Protocol with the test (one JSON object per line):
//   stdin  (commands): {"cmd":"call","tag":T,"method":M,"params":P}   ocpp-rpc call() to the peer
//                      {"cmd":"raw","tag":T,"id":ID,"text":S}         sendRaw(S), report the frame answering ID
//                      {"cmd":"close","code":C,"reason":R}            close gracefully and exit 0
//   stdout (events):   {"event":"result"|"error"|"raw_reply"|"handled"|"strict_failure"|"bad_message"|...}
// Closing stdin has the same effect as "close".

const readline = require('readline');

function emit(obj) {
    // stdout is a pipe: writes are synchronous on POSIX, so nothing is lost on exit.
    process.stdout.write(JSON.stringify(obj) + '\n');
}

function errorInfo(err) {
    return {
        code: err && err.rpcErrorCode !== undefined ? err.rpcErrorCode : null,
        message: err && err.message !== undefined ? String(err.message) : String(err),
        details: err && err.details !== undefined ? err.details : null,
        name: err && err.name,
        // an HTTP status when the WebSocket upgrade was refused (ocpp-rpc's UnexpectedHttpResponse)
        httpStatus: err && typeof err.code === 'number' ? err.code : null,
    };
}

function parseArgs(argv) {
    const out = {};
    for (let i = 0; i < argv.length; i += 2) {
        if (!argv[i].startsWith('--')) throw Error(`bad argument ${argv[i]}`);
        out[argv[i].slice(2)] = argv[i + 1];
    }
    return out;
}

// Reports every event of an RPCClient (or an RPCServerClient) that the test may assert on,
// and the replies to raw frames the test sent.
function watch(peer, rawWaiters) {
    peer.on('message', ({message, outbound}) => {
        if (outbound) return;
        let frame;
        try {
            frame = JSON.parse(message.toString());
        } catch (e) {
            return;
        }
        if (Array.isArray(frame) && rawWaiters.has(frame[1]) && (frame[0] === 3 || frame[0] === 4)) {
            const tag = rawWaiters.get(frame[1]);
            rawWaiters.delete(frame[1]);
            emit({event: 'raw_reply', tag, reply: frame});
        }
    });
    peer.on('strictValidationFailure', (ev) => {
        emit({
            event: 'strict_failure',
            method: ev.method,
            outbound: ev.outbound,
            isCall: ev.isCall,
            params: ev.params,
            result: ev.result,
            error: errorInfo(ev.error),
        });
    });
    peer.on('badMessage', ({buffer, error, response}) => {
        emit({event: 'bad_message', message: buffer.toString(), error: errorInfo(error), response});
    });
}

// Registers `fn` for `method` on `peer`, reporting each call and the reply sent (or the error).
function handle(peer, method, fn) {
    peer.handle(method, async ({params, messageId}) => {
        try {
            const reply = await fn(params);
            emit({event: 'handled', method, messageId, params, reply});
            return reply;
        } catch (err) {
            emit({event: 'handled', method, messageId, params, error: errorInfo(err)});
            throw err;
        }
    });
}

// Reads commands from stdin. getPeer() names the peer to act on; shutdown(cmd) closes everything.
function commandLoop(getPeer, rawWaiters, shutdown) {
    const rl = readline.createInterface({input: process.stdin});
    let closing = false;
    const finish = async (cmd) => {
        if (closing) return;
        closing = true;
        try {
            await shutdown(cmd || {});
        } catch (err) {
            emit({event: 'shutdown_error', error: errorInfo(err)});
        }
        process.exit(0);
    };
    rl.on('line', (line) => {
        if (!line.trim()) return;
        let cmd;
        try {
            cmd = JSON.parse(line);
        } catch (err) {
            emit({event: 'command_error', line, error: errorInfo(err)});
            return;
        }
        const peer = getPeer(cmd);
        if (cmd.cmd === 'close') {
            finish(cmd);
        } else if (!peer) {
            emit({event: 'command_error', tag: cmd.tag, error: {message: 'no connected peer'}});
        } else if (cmd.cmd === 'call') {
            peer.call(cmd.method, cmd.params === undefined ? {} : cmd.params).then(
                (result) => emit({event: 'result', tag: cmd.tag, method: cmd.method, result}),
                (err) => emit({event: 'error', tag: cmd.tag, method: cmd.method, error: errorInfo(err)}),
            );
        } else if (cmd.cmd === 'raw') {
            rawWaiters.set(cmd.id, cmd.tag);
            peer.sendRaw(cmd.text);
        } else {
            emit({event: 'command_error', tag: cmd.tag, error: {message: `unknown command ${cmd.cmd}`}});
        }
    });
    rl.on('close', () => finish({}));
}

module.exports = {emit, errorInfo, parseArgs, watch, handle, commandLoop};
