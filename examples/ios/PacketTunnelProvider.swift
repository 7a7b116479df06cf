// SPDX-License-Identifier: MIT
// PacketTunnelProvider.swift - tunproxy inside an iOS (or macOS) Network
// Extension: the sample docs/embedding.md walks through.
//
// Callback mode, the packetFlow way: packets read from packetFlow go to the
// engine with tp_input; the engine's packets come back through the output
// callback and go to packetFlow.writePackets(_:withProtocols:). The engine
// runs on a thread of its own (tp_start). Every flow leaves the extension
// as an ordinary socket of this process, which the system does not route
// back into this tunnel.
//
// The fd alternative (TP_FRAMING_UTUN on the utun fd behind packetFlow) is
// at the bottom: fewer copies, but it relies on a private property.
//
// Development mode (docs/devloop.md, "A real phone"): when the tunnel's
// configuration carries a "devLoopHost" (the app sets it in
// providerConfiguration, or passes it in startVPNTunnel's options), the
// engine does not run in the extension at all. Every packet read from
// packetFlow goes as one UDP datagram to devLoopHost:devLoopPort (default
// 8080: `tunproxy tee` on the developer's Mac), and every datagram that
// comes back is written to packetFlow: the UDP dev transport of the
// design, with the proxy, the capture and Wireshark on the Mac. An empty
// datagram every 2 s keeps the tee's session while the phone is quiet.
//
// Written for Apple platforms; not compiled on the project's Linux CI (see
// docs/embedding.md, "What is verified where").

import Darwin
import Network
import NetworkExtension
import TunProxy
import os.log

final class PacketTunnelProvider: NEPacketTunnelProvider {
    private var engine: OpaquePointer?  // struct tp *
    /// tp_input and tp_destroy run here, so the engine is never destroyed
    /// while a batch is being handed in.
    private let inputQueue = DispatchQueue(label: "tunproxy.input")
    private let log = OSLog(subsystem: "tunproxy.sample", category: "tunnel")
    /// Development mode: the UDP link to the tee on the Mac (nil otherwise).
    private var devLink: DevLoopLink?
    /// Logs the flow list every 10 s (logFlows), on inputQueue too.
    private var flowTimer: DispatchSourceTimer?

    override func startTunnel(options: [String: NSObject]?,
                              completionHandler: @escaping (Error?) -> Void) {
        let settings = NEPacketTunnelNetworkSettings(tunnelRemoteAddress: "192.0.2.1")
        settings.mtu = 1500
        let v4 = NEIPv4Settings(addresses: ["10.0.0.8"], subnetMasks: ["255.255.255.0"])
        v4.includedRoutes = [NEIPv4Route.default()]
        settings.ipv4Settings = v4
        let v6 = NEIPv6Settings(addresses: ["fdaa::8"], networkPrefixLengths: [64])
        v6.includedRoutes = [NEIPv6Route.default()]
        settings.ipv6Settings = v6
        settings.dnsSettings = NEDNSSettings(servers: ["9.9.9.9"])

        setTunnelNetworkSettings(settings) { error in
            if let error = error {
                completionHandler(error)
                return
            }
            if let dev = DevLoopLink.settings(options: options,
                                              protocolConfiguration: self.protocolConfiguration) {
                os_log("development mode: packets to %{public}s:%d over UDP",
                       log: self.log, type: .info, dev.host, Int(dev.port))
                self.devLink = DevLoopLink(host: dev.host, port: dev.port,
                                           flow: self.packetFlow, log: self.log)
                completionHandler(nil)
                return
            }
            let rc = self.startEngine()
            if rc != 0 {
                let msg = String(cString: tp_strerror(rc))
                completionHandler(NSError(domain: "tunproxy", code: Int(rc),
                                          userInfo: [NSLocalizedDescriptionKey: msg]))
                return
            }
            self.readPackets()
            self.startFlowLog()
            completionHandler(nil)
        }
    }

    override func stopTunnel(with reason: NEProviderStopReason,
                             completionHandler: @escaping () -> Void) {
        if let dev = devLink {
            dev.stop()
            devLink = nil
            completionHandler()
            return
        }
        // tp_stop is safe from any thread; tp_input answers TP_ESTATE from
        // now on, which ends the read loop.
        tp_stop(engine)
        inputQueue.async {
            self.flowTimer?.cancel()
            self.flowTimer = nil
            // Last call on the engine: no tp_input or tp_flows can be
            // running here.
            tp_destroy(self.engine)
            self.engine = nil
            completionHandler()
        }
    }

    /// Creates and starts the engine. Returns 0 or a negative TP_E* code.
    private func startEngine() -> Int32 {
        // Every flow is one socket: lift the soft fd limit (256 by default
        // on iOS) to the hard one.
        // Darwin refuses RLIM_INFINITY (a common hard limit) for
        // RLIMIT_NOFILE: cap the request at OPEN_MAX (10240), as the
        // tunproxy command caps it at kern.maxfilesperproc on macOS.
        var rl = rlimit()
        if getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < min(rl.rlim_max, rlim_t(10240)) {
            rl.rlim_cur = min(rl.rlim_max, rlim_t(10240))
            setrlimit(RLIMIT_NOFILE, &rl)
        }

        var cfg = tp_config()
        tp_config_init(&cfg)  // sets size and version: always start here
        cfg.mtu = 1500
        // The engine's budget: flows and their buffers stay under it.
        // iOS 15+ gives an extension 50 MB; iOS 14 and older 15 MB.
        cfg.max_memory = 8 << 20
        cfg.max_flows = 4096
        cfg.output = tunproxyOutput
        cfg.output_ctx = Unmanaged.passUnretained(self).toOpaque()
        cfg.log = tunproxyLog
        cfg.log_ctx = Unmanaged.passUnretained(self).toOpaque()
        cfg.log_level = UInt32(TP_LOG_WARN.rawValue)

        var tp: OpaquePointer?
        var rc = tp_create(&cfg, &tp)
        if rc != 0 { return rc }
        rc = tp_start(tp)
        if rc != 0 {
            tp_destroy(tp)
            return rc
        }
        engine = tp
        return 0
    }

    /// Every 10 s, one line per open flow in the app's log: what the apps
    /// behind the tunnel talk to (docs/embedding.md, "Looking at flows").
    private func startFlowLog() {
        let t = DispatchSource.makeTimerSource(queue: inputQueue)
        t.schedule(deadline: .now() + 10, repeating: 10)
        t.setEventHandler { [weak self] in self?.logFlows() }
        t.resume()
        flowTimer = t
    }

    private func logFlows() {
        guard let engine = engine else { return }
        // The caller's buffer; the engine's thread fills it (waiting at
        // most 500 ms), no allocation inside the library.
        var flows = [tp_flow_info](repeating: tp_flow_info(), count: 256)
        let n = Int(tp_flows(engine, &flows, flows.count,
                             MemoryLayout<tp_flow_info>.stride, 500))
        if n < 0 {
            os_log("tp_flows: %{public}s", log: log, type: .error,
                   String(cString: tp_strerror(Int32(n))))
            return
        }
        os_log("%d flows open", log: log, type: .info, n)
        for f in flows.prefix(min(n, flows.count)) {
            // name is a fixed char array: a tuple in Swift.
            let name = withUnsafeBytes(of: f.name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            let proto = f.proto == 6 ? "tcp" : f.proto == 17 ? "udp" : "icmp"
            let state = String(cString: tp_tcp_state_name(UInt32(f.state)))
            let rttMs = f.app_side.valid != 0 ? Double(f.app_side.srtt_us) / 1000 : 0
            os_log("%{public}s port %d %{public}s %{public}s: %llu B in, %llu B out, idle %llu ms, rtt %.1f ms",
                   log: log, type: .info, proto, Int(f.dst_port),
                   name.isEmpty ? "-" : name, state, f.bytes_to_app,
                   f.bytes_from_app, f.idle_ms, rttMs)
        }
    }

    /// packetFlow -> engine: one readPackets batch is one tp_input batch.
    private func readPackets() {
        packetFlow.readPackets { [weak self] packets, _ in
            guard let self = self else { return }
            self.inputQueue.async {
                if self.feed(packets) {
                    self.readPackets()
                }
            }
        }
    }

    /// Hands a batch to the engine; false once the engine is stopped.
    private func feed(_ packets: [Data]) -> Bool {
        guard let tp = engine else { return false }
        // NSData keeps its bytes at a fixed address while it lives; the
        // engine copies what it takes before tp_input returns.
        let datas = packets.map { $0 as NSData }
        return withExtendedLifetime(datas) {
            var ptrs: [UnsafePointer<UInt8>?] = datas.map {
                $0.bytes.assumingMemoryBound(to: UInt8.self)
            }
            var lens: [Int] = datas.map { $0.length }
            var done = 0
            var tries = 0
            while done < datas.count {
                let rc = ptrs.withUnsafeMutableBufferPointer { p in
                    lens.withUnsafeMutableBufferPointer { l in
                        tp_input(tp, p.baseAddress! + done, l.baseAddress! + done,
                                 datas.count - done)
                    }
                }
                if rc == -Int32(TP_ESTATE.rawValue) { return false }
                if rc < 0 {  // -TP_EINVAL: not an IP packet; drop the batch
                    os_log("tp_input: %{public}s", log: log, type: .error,
                           String(cString: tp_strerror(rc)))
                    return true
                }
                done += Int(rc)
                if done < datas.count {
                    // Backpressure: the engine is behind. Offer the rest
                    // again shortly, a few times, then drop it (the apps'
                    // TCP retransmits), as a full NIC queue would.
                    tries += 1
                    if tries > 50 { return true }
                    usleep(200)
                }
            }
            return true
        }
    }
}

/// Engine -> packetFlow. Runs on the engine's thread; the buffers are the
/// engine's and valid only during the call, so they are copied into Data.
private let tunproxyOutput: tp_output_fn = { ctx, pkts, lens, families, n in
    guard let ctx = ctx, let pkts = pkts, let lens = lens, let families = families else { return }
    let provider = Unmanaged<PacketTunnelProvider>.fromOpaque(ctx).takeUnretainedValue()
    var packets = [Data]()
    var protocols = [NSNumber]()
    packets.reserveCapacity(n)
    protocols.reserveCapacity(n)
    for i in 0..<n {
        guard let p = pkts[i] else { continue }
        packets.append(Data(bytes: p, count: lens[i]))
        protocols.append(NSNumber(value: families[i] == 6 ? AF_INET6 : AF_INET))
    }
    provider.packetFlow.writePackets(packets, withProtocols: protocols)
}

/// Development mode: packetFlow <-> UDP datagrams to the tee on the Mac,
/// one IP packet per datagram both ways (docs/devloop.md). Nothing is
/// parsed or kept: a lost datagram is a lost packet, which the apps' TCP
/// recovers, exactly as on the real network.
final class DevLoopLink {
    private let flow: NEPacketTunnelFlow
    private let log: OSLog
    private let connection: NWConnection
    private let queue = DispatchQueue(label: "tunproxy.devloop")
    private var keepalive: DispatchSourceTimer?
    private var stopped = false

    /// The development setting: "devLoopHost" (and optionally
    /// "devLoopPort", default 8080) in startVPNTunnel's options or in the
    /// tunnel's providerConfiguration. nil: run the engine as usual.
    static func settings(options: [String: NSObject]?,
                         protocolConfiguration: NEVPNProtocol) -> (host: String, port: UInt16)? {
        let conf = (protocolConfiguration as? NETunnelProviderProtocol)?.providerConfiguration
        let host = (options?["devLoopHost"] as? String) ?? (conf?["devLoopHost"] as? String)
        guard let h = host, !h.isEmpty else { return nil }
        let port = (options?["devLoopPort"] as? NSNumber)?.uint16Value
            ?? (conf?["devLoopPort"] as? NSNumber)?.uint16Value ?? 8080
        return (h, port)
    }

    init(host: String, port: UInt16, flow: NEPacketTunnelFlow, log: OSLog) {
        self.flow = flow
        self.log = log
        // The extension's own connections are not routed into its tunnel,
        // so this reaches the Mac over the real network.
        connection = NWConnection(host: NWEndpoint.Host(host),
                                  port: NWEndpoint.Port(rawValue: port) ?? 8080,
                                  using: .udp)
        connection.stateUpdateHandler = { [weak self] state in
            guard let self = self else { return }
            switch state {
            case .ready:
                os_log("development mode: UDP link ready", log: self.log, type: .info)
            case .failed(let error):
                os_log("development mode: UDP link failed: %{public}s", log: self.log,
                       type: .error, "\(error)")
            default:
                break
            }
        }
        connection.start(queue: queue)
        receive()
        readPackets()
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 2, repeating: 2)
        timer.setEventHandler { [weak self] in
            // An empty datagram: the tee's keepalive (not passed on).
            self?.connection.send(content: Data(), completion: .idempotent)
        }
        timer.resume()
        keepalive = timer
    }

    func stop() {
        queue.sync {
            stopped = true
            keepalive?.cancel()
            keepalive = nil
        }
        connection.cancel()
    }

    /// packetFlow -> UDP: one datagram per packet, sent as one batch.
    private func readPackets() {
        flow.readPackets { [weak self] packets, _ in
            guard let self = self else { return }
            self.queue.async {
                if self.stopped { return }
                self.connection.batch {
                    for p in packets {
                        self.connection.send(content: p, completion: .idempotent)
                    }
                }
                self.readPackets()
            }
        }
    }

    /// UDP -> packetFlow: each datagram is one packet; its IP version
    /// nibble gives the protocol family packetFlow wants.
    private func receive() {
        connection.receiveMessage { [weak self] data, _, _, error in
            guard let self = self else { return }
            if let d = data, let first = d.first {
                let family = (first >> 4) == 6 ? AF_INET6 : AF_INET
                self.flow.writePackets([d], withProtocols: [NSNumber(value: family)])
            }
            if self.stopped { return }
            if let error = error {
                // E.g. the tee not running yet (port unreachable): try
                // again in a second; the Mac side may be restarted at will.
                os_log("development mode: receive: %{public}s", log: self.log,
                       type: .info, "\(error)")
                self.queue.asyncAfter(deadline: .now() + 1) { self.receive() }
            } else {
                self.receive()
            }
        }
    }
}

private let tunproxyLog: tp_log_fn = { _, level, msg in
    guard let msg = msg else { return }
    let type: OSLogType = level.rawValue <= TP_LOG_WARN.rawValue ? .error : .info
    os_log("%{public}s", type: type, String(cString: msg))
}

// MARK: - The fd alternative
//
// Instead of callback mode, the engine can read and write the utun fd
// behind packetFlow itself (fd mode, TP_FRAMING_UTUN: every packet carries
// utun's 4-byte address family). No packet crosses into Swift, so it costs
// fewer copies. There is no public API for that fd: the key path below is a
// private property of NEPacketTunnelFlow (App Review may object, and a
// future iOS may change it), so fall back to callback mode when it is
// missing. In fd mode do not call packetFlow.readPackets or writePackets.
//
//     if let fd = packetFlow.value(forKeyPath: "socket.fileDescriptor") as? Int32 {
//         var cfg = tp_config()
//         tp_config_init(&cfg)
//         cfg.tun_fd = fd                         // still the system's: not closed by tp_destroy
//         cfg.framing = UInt32(TP_FRAMING_UTUN.rawValue)
//         cfg.max_memory = 8 << 20
//         var tp: OpaquePointer?
//         if tp_create(&cfg, &tp) == 0 && tp_start(tp) == 0 { engine = tp }
//     }
