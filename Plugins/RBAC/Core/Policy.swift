import CEL
import JSON
import PluginKit

/// An ordered list of `allow` / `deny` rules, decided the way Envoy's RBAC and agentgateway's
/// authorization decide: any matching `deny` wins; else any matching `allow` allows; else the
/// request is denied (once a policy has a rule, nothing passes by default).
///
/// A rule whose expression fails at run time (a claim the caller does not have, say) does not
/// match; the failure is kept for the decision log.
public struct Policy: Sendable {
    public struct Rule: Sendable {
        public enum Effect: String, Sendable { case allow, deny }
        public var name: String
        public var effect: Effect
        public var condition: Program
    }

    public var rules: [Rule]
    public var isEmpty: Bool { rules.isEmpty }

    public init(rules: [Rule]) { self.rules = rules }

    /// Reads `[[<path>]]` tables (`allow = "<expr>"` or `deny = "<expr>"`, optional `name`) and
    /// compiles each expression against `declarations`.
    public init(tables: [JSONValue], path: String, declarations: Declarations) throws(ConfigTableError) {
        rules = []
        for (index, table) in tables.enumerated() {
            var reader = try ConfigTableReader(table: table, path: "\(path)[\(index)]")
            let allow = try reader.string("allow"), deny = try reader.string("deny")
            let name = try reader.string("name") ?? "\(path)[\(index)]"
            try reader.finish()
            let (effect, source): (Rule.Effect, String)
            switch (allow, deny) {
            case (let allow?, nil): (effect, source) = (.allow, allow)
            case (nil, let deny?): (effect, source) = (.deny, deny)
            default: throw ConfigTableError("\(path)[\(index)]: give exactly one of allow = \"<expression>\" or deny = \"<expression>\"")
            }
            do {
                rules.append(Rule(name: name, effect: effect, condition: try Program.compileCondition(source, declarations: declarations)))
            } catch {
                throw ConfigTableError("\(path)[\(index)] ('\(name)'): \(error)")
            }
        }
    }

    /// The outcome and the rule that decided it.
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// The deciding rule's name; nil when nothing matched (denied by default).
        public var rule: String?
        /// Rules that failed to evaluate, with why.
        public var failures: [String]
        /// The deciding rule's place in the policy; nil when nothing matched.
        public var ruleIndex: Int?

        public init(allowed: Bool, rule: String?, failures: [String], ruleIndex: Int? = nil) {
            self.allowed = allowed
            self.rule = rule
            self.failures = failures
            self.ruleIndex = ruleIndex
        }

        public var explanation: String {
            let verdict = allowed ? "allowed" : "denied"
            let reason = rule.map { "by rule '\($0)'" } ?? "by default (no rule allows it)"
            return failures.isEmpty ? "\(verdict) \(reason)" : "\(verdict) \(reason); not evaluated: \(failures.joined(separator: "; "))"
        }
    }

    public func decide(_ activation: some Activation) -> Decision {
        var failures: [String] = []
        var allowedBy: Int?
        for (index, rule) in rules.enumerated() {
            // Allows need not be evaluated once one matched, unless a deny could still win.
            if rule.effect == .allow, allowedBy != nil { continue }
            do {
                guard try rule.condition.isSatisfied(by: activation) else { continue }
                if rule.effect == .deny { return Decision(allowed: false, rule: rule.name, failures: failures, ruleIndex: index) }
                allowedBy = index
            } catch {
                failures.append("'\(rule.name)': \(error)")
            }
        }
        return Decision(allowed: allowedBy != nil, rule: allowedBy.map { rules[$0].name }, failures: failures, ruleIndex: allowedBy)
    }
}
