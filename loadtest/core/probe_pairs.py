"""The quality probe's labelled pairs, written for this project.

Related pairs by category: Chinese paraphrases, Chinese-English and Chinese-Japanese
translations, code and its docstring. Each category's unrelated pairs are its own texts paired
across (the first text of one pair with the second of the next), so related and unrelated
share language and style. `NEAR_MISS` holds triples: an anchor, a paraphrase of it, and a text
that shares most of its words but means something else; `UNRELATED` pairs texts of different
topics outright.
"""

from __future__ import annotations

ZH_PARAPHRASE = (
    ("这家餐厅的菜太咸了，我吃不下去。", "这个饭馆做的菜盐放得太多，实在没法吃。"),
    ("明天早上八点在三号会议室开会。", "会议定在明早八点，地点是第三会议室。"),
    ("请把发票寄到公司的财务部。", "麻烦将发票邮寄给我们公司财务部门。"),
    ("他上个月从北京搬到了深圳。", "上个月他离开北京，搬去深圳住了。"),
    ("这款手机的电池一天要充两次电。", "这部手机电量不耐用，每天得充电两回。"),
    ("由于大雨，航班推迟了三个小时。", "航班因为暴雨晚点了三小时。"),
    ("系统升级期间网站将暂停访问。", "在系统更新的时候，网站暂时无法打开。"),
    ("孩子们在公园里放风筝。", "几个小朋友正在公园放风筝玩。"),
    ("我忘记了邮箱的登录密码。", "我想不起来电子邮箱的密码了。"),
    ("这本书讲的是二战时期的一段爱情故事。", "这部小说描写了第二次世界大战期间的一段恋情。"),
    ("超市周末打八折。", "周六周日超市全场商品八折优惠。"),
    ("医生建议他少喝酒多运动。", "医生劝他减少饮酒、加强锻炼。"),
    ("模型在长文本上的召回率明显下降。", "输入变长以后，模型的召回效果显著变差。"),
    ("请在下班前把报告发给我。", "麻烦你下班之前把报告发到我这里。"),
    ("地铁二号线今晚延长运营到凌晨一点。", "今晚2号线地铁会一直运营到夜里一点。"),
    ("这个接口的响应时间超过了两秒。", "该API的返回耗时已经大于2秒。"),
    ("她的中文说得比我还流利。", "她讲汉语比我讲得还要流畅。"),
    ("快递员把包裹放在了门口。", "送快递的人把包裹搁在了家门外。"),
    ("服务器内存不足导致进程被杀掉。", "因为服务器内存耗尽，进程被系统终止了。"),
    ("我们需要在月底之前完成数据迁移。", "数据迁移工作必须在本月结束前做完。"),
    ("这条河冬天会结冰。", "到了冬季，这条河的河面会冻上。"),
    ("新员工入职要先参加三天培训。", "刚入职的员工需要先接受为期三天的培训。"),
)

ZH_EN = (
    (
        "向量数据库用于存储和检索嵌入向量。",
        "Vector databases store and retrieve embedding vectors.",
    ),
    ("请在使用前仔细阅读说明书。", "Please read the instructions carefully before use."),
    ("这座桥建于十九世纪末。", "This bridge was built in the late nineteenth century."),
    ("我每天骑自行车上班。", "I ride my bike to work every day."),
    ("会议因为网络故障被取消了。", "The meeting was cancelled because of a network outage."),
    ("他的猫喜欢在窗台上晒太阳。", "His cat likes to sunbathe on the windowsill."),
    ("退款将在七个工作日内到账。", "The refund will arrive within seven business days."),
    ("这个函数返回列表中的最大值。", "This function returns the largest value in the list."),
    ("山顶的风景非常壮观。", "The view from the top of the mountain is spectacular."),
    ("批处理大小越大，显存占用越高。", "The larger the batch size, the more GPU memory it uses."),
    ("她正在准备明年的研究生考试。", "She is preparing for next year's graduate entrance exam."),
    (
        "这家公司去年的营收增长了百分之二十。",
        "The company's revenue grew by twenty percent last year.",
    ),
    ("请不要在图书馆里大声说话。", "Please do not talk loudly in the library."),
    (
        "延迟的第九十九百分位数是两百毫秒。",
        "The ninety-ninth percentile latency is two hundred milliseconds.",
    ),
    ("我们明天去海边野餐吧。", "Let's go for a picnic at the beach tomorrow."),
    ("这种药饭后服用。", "Take this medicine after meals."),
    ("火车站离酒店步行十分钟。", "The train station is a ten-minute walk from the hotel."),
    (
        "缓存命中率下降导致数据库压力变大。",
        "A falling cache hit rate put more load on the database.",
    ),
    ("他把钥匙忘在了办公室。", "He left his keys at the office."),
    ("今年夏天特别热。", "This summer has been especially hot."),
    ("用户可以通过短信验证码登录。", "Users can log in with a verification code sent by SMS."),
    ("春节期间快递会停运几天。", "Parcel delivery stops for a few days over the Spring Festival."),
)

ZH_JA = (
    ("今天天气很好，我们去散步吧。", "今日はいい天気なので、散歩に行きましょう。"),
    ("这家店的拉面非常好吃。", "この店のラーメンはとてもおいしいです。"),
    ("请告诉我去车站的路。", "駅への行き方を教えてください。"),
    ("我正在学习日语。", "私は日本語を勉強しています。"),
    ("会议室在三楼。", "会議室は三階にあります。"),
    ("这个软件需要重新启动。", "このソフトウェアは再起動が必要です。"),
    ("明天会下雨吗？", "明日は雨が降りますか？"),
    ("我的护照丢了。", "パスポートをなくしました。"),
    ("这件衬衫有大一号的吗？", "このシャツのもう一つ大きいサイズはありますか？"),
    ("图书馆晚上九点关门。", "図書館は夜九時に閉まります。"),
    ("他每天早上喝一杯咖啡。", "彼は毎朝コーヒーを一杯飲みます。"),
    ("服务器的磁盘快满了。", "サーバーのディスクがもうすぐいっぱいになります。"),
    ("请把窗户关上。", "窓を閉めてください。"),
    ("我对花生过敏。", "私はピーナッツアレルギーです。"),
    ("这趟新干线开往大阪。", "この新幹線は大阪行きです。"),
    ("周末我打算去看电影。", "週末は映画を見に行くつもりです。"),
    ("数据备份每天凌晨进行。", "データのバックアップは毎日深夜に行われます。"),
    ("这个问题我需要再想一想。", "この問題はもう少し考える必要があります。"),
    ("樱花在四月初开放。", "桜は四月の初めに咲きます。"),
    ("请在这里签名。", "ここにサインしてください。"),
)

CODE_DOC = (
    (
        "def mean(xs):\n    return sum(xs) / len(xs)",
        "Return the arithmetic mean of a list of numbers.",
    ),
    ("def is_even(n):\n    return n % 2 == 0", "Tell whether an integer is even."),
    (
        "def reverse(s):\n    return s[::-1]",
        "Return the string with its characters in reverse order.",
    ),
    (
        "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))",
        "Limit a value to the range between lo and hi.",
    ),
    ("def word_count(text):\n    return len(text.split())", "Count the words in a piece of text."),
    (
        "def flatten(rows):\n    return [x for row in rows for x in row]",
        "Turn a list of lists into one flat list.",
    ),
    (
        "def unique(items):\n    return list(dict.fromkeys(items))",
        "Remove duplicates from a list, keeping the first occurrence of each.",
    ),
    (
        "def l2_normalize(v):\n    n = math.sqrt(sum(x * x for x in v))\n    return [x / n for x in v]",
        "Scale a vector to unit Euclidean length.",
    ),
    (
        "public int max(int[] a) {\n  int m = a[0];\n  for (int x : a) m = Math.max(m, x);\n  return m;\n}",
        "Find the largest element of an integer array.",
    ),
    (
        "public boolean isBlank(String s) {\n  return s == null || s.trim().isEmpty();\n}",
        "Check whether a string is null, empty or only whitespace.",
    ),
    (
        "SELECT user_id, COUNT(*) FROM orders GROUP BY user_id;",
        "Count how many orders each user has placed.",
    ),
    (
        "SELECT * FROM products WHERE price < 10 ORDER BY price;",
        "List the products cheaper than 10, cheapest first.",
    ),
    (
        "DELETE FROM sessions WHERE expires_at < NOW();",
        "Remove the sessions that have already expired.",
    ),
    (
        "function sleep(ms) {\n  return new Promise(r => setTimeout(r, ms));\n}",
        "Wait for a number of milliseconds before continuing.",
    ),
    ("const sum = xs => xs.reduce((a, b) => a + b, 0);", "Add up all the numbers in an array."),
    (
        "function capitalize(s) {\n  return s.charAt(0).toUpperCase() + s.slice(1);\n}",
        "Make the first letter of a string upper case.",
    ),
    (
        "func Abs(x int) int {\n\tif x < 0 {\n\t\treturn -x\n\t}\n\treturn x\n}",
        "Return the absolute value of an integer.",
    ),
    (
        "func Contains(xs []string, s string) bool {\n\tfor _, x := range xs {\n\t\tif x == s {\n\t\t\treturn true\n\t\t}\n\t}\n\treturn false\n}",
        "Report whether a slice of strings contains a given string.",
    ),
    (
        "def read_lines(path):\n    with open(path) as f:\n        return f.read().splitlines()",
        "Read a text file and return its lines.",
    ),
    (
        "def retry(fn, times=3):\n    for _ in range(times - 1):\n        try:\n            return fn()\n        except Exception:\n            pass\n    return fn()",
        "Call a function again when it raises, up to three attempts.",
    ),
)

# (anchor, paraphrase, near miss): the near miss shares words but not meaning.
NEAR_MISS = (
    ("我喜欢猫。", "猫是我喜欢的动物。", "猫不喜欢我。"),
    ("他借给我一本书。", "他把一本书借给了我。", "我借给他一本书。"),
    ("公司禁止员工在办公室吸烟。", "员工不准在办公室抽烟。", "公司允许员工在办公室吸烟。"),
    ("这次考试他比我考得好。", "他这次考试的成绩比我高。", "这次考试我比他考得好。"),
    ("The dog bit the man.", "The man was bitten by the dog.", "The man bit the dog."),
    (
        "Turn off the lights before you leave.",
        "Switch the lights off when you go.",
        "Turn on the lights before you leave.",
    ),
    (
        "The meeting was moved from Monday to Friday.",
        "They rescheduled the meeting to Friday instead of Monday.",
        "The meeting was moved from Friday to Monday.",
    ),
    (
        "She sold her car to her brother.",
        "Her brother bought her car from her.",
        "Her brother sold his car to her.",
    ),
    ("价格上涨了百分之十。", "价格涨了10%。", "价格下降了百分之十。"),
    ("请先保存文件再关闭程序。", "关闭程序之前要先保存文件。", "请先关闭程序再保存文件。"),
    (
        "The test passed on Linux but failed on Windows.",
        "On Windows the test failed, on Linux it passed.",
        "The test passed on Windows but failed on Linux.",
    ),
    ("只有管理员才能删除用户。", "删除用户的权限仅限管理员。", "管理员不能删除用户。"),
    (
        "Cache the result unless the input changed.",
        "Reuse the cached result when the input is the same.",
        "Change the input unless the result is cached.",
    ),
    ("他昨天没有来上班。", "昨天他缺勤了。", "他昨天来上班了。"),
    (
        "Return an error if the file does not exist.",
        "Fail when the file is missing.",
        "Return the file if the error does not exist.",
    ),
    ("北京比上海冷。", "上海没有北京冷。", "上海比北京冷。"),
    (
        "The server rejects requests larger than 8 MB.",
        "Requests above 8 MB are refused by the server.",
        "The server accepts requests larger than 8 MB.",
    ),
    ("我不是不想去，是没有时间。", "我想去，只是没空。", "我不想去，也没有时间。"),
    (
        "def add(a, b):\n    return a + b",
        "def plus(x, y):\n    return x + y",
        "def add(a, b):\n    return a - b",
    ),
    ("妈妈让我早点回家。", "妈妈叫我早些回来。", "我让妈妈早点回家。"),
)

UNRELATED = (
    ("量子计算机利用叠加态进行运算。", "这道红烧肉要用小火慢炖一个小时。"),
    ("The stock market closed higher on Friday.", "Penguins huddle together to stay warm."),
    ("请检查数据库连接池的配置。", "The orchestra played Beethoven's ninth symphony."),
    (
        "火山爆发后，附近的村庄被疏散了。",
        "def parse_date(s):\n    return datetime.strptime(s, '%Y-%m-%d')",
    ),
    ("新しい靴を買いました。", "梯度下降通过迭代更新参数来最小化损失。"),
    (
        "Remember to water the tomatoes twice a week.",
        "SELECT COUNT(*) FROM logs WHERE level = 'ERROR';",
    ),
    ("他是一名出色的篮球运动员。", "The invoice is due at the end of the month."),
    ("Kubernetes schedules pods onto nodes.", "秋天的枫叶红得像火一样。"),
    ("这首诗描写了江南的春雨。", "Set the TCP keepalive interval to 60 seconds."),
    ("The museum is closed on Mondays.", 'func main() {\n\tfmt.Println("hello")\n}'),
    ("牛奶需要冷藏保存。", "The rocket reached orbit nine minutes after launch."),
    ("明日の会議は中止になりました。", "Whales communicate with low-frequency songs."),
    ("The recipe calls for two cups of flour.", "该算法的时间复杂度是O(n log n)。"),
    ("小区的电梯正在维修。", "Photosynthesis turns light into chemical energy."),
    ("Add a unit test for the edge case.", "海边的日落非常美。"),
    ("长城是世界上最长的城墙。", "Please rotate your API keys every ninety days."),
    ("The cat knocked the glass off the table.", "员工的年假天数与工龄有关。"),
    ("这个季节适合去云南旅游。", "const x = await fetch(url).then(r => r.json());"),
    ("Bees pollinate many of the crops we eat.", "请在周五之前提交报销单。"),
    ("这台咖啡机需要除垢了。", "The satellite measures sea surface temperature."),
)
